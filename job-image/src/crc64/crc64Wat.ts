/**
 * The WebAssembly text of CRC-64/NVME (the checksum S3 gives objects uploaded by today's AWS SDKs
 * and CLI: reflected polynomial 0x9a6c9329ac4bc9b5, initial value and final xor all ones).
 * WebAssembly has no carry-less multiply, so this is table-driven: slicing-by-16, sixteen tables of
 * 256 64-bit entries (32 KiB, filled by `init` inside the module), sixteen bytes per step. The
 * JavaScript version in @aws-sdk/checksums (slicing-by-8 on pairs of 32-bit halves) runs at about
 * 0.28 GiB/s on the project's machine; this one at several times that (crc64Wasm.test.ts measures
 * it, and fails under 1 GiB/s). `init` takes the polynomial: the same module computes CRC-32C.
 *
 * Generated text, compiled with wabt into crc64Wasm.ts (see crc64Wasm.test.ts): the sixteen
 * lookups of a step are written out by code rather than by hand.
 *
 * Memory layout (offsets in bytes):
 *   0..32767          table k (CRC of byte n followed by k zero bytes) at 2048 * k + 8 * n
 *   32768..49151      shift table j (see `update`) at 32768 + 2048 * j + 8 * n
 *   49152..49663      init's scratch
 *   INPUT_AT..        the bytes `update` reads, up to INPUT_BYTES of them
 */

/** Reflected CRC-64/NVME polynomial. */
export const CRC64NVME_POLY = 0x9a6c9329ac4bc9b5n;
/**
 * Reflected CRC-32C (Castagnoli) polynomial. The same code computes it: a reflected CRC narrower
 * than 64 bits lives in the low bits of the register (the high ones stay zero through every table
 * and shift), so `init(CRC32C_POLY)` makes an instance that computes CRC-32C, register 0xffffffff.
 */
export const CRC32C_POLY = 0x82f63b78n;
/** Where the input starts. */
export const INPUT_AT = 65536;
/** Bytes of input one call may read. */
export const INPUT_BYTES = 1024 * 1024;
/** Pages of 64 KiB the module's memory has: the tables' page and the input. */
export const MEMORY_PAGES = 1 + INPUT_BYTES / 65536;

const TABLE_BYTES = 2048;
/** Streams a block is split into, and the bytes of each. */
export const LANES = 4;
export const LANE_BYTES = 8192;
const BLOCK_BYTES = LANES * LANE_BYTES;
/** The eight shift tables: table j maps byte j of a register to its image over LANE_BYTES zeros. */
const SHIFT_AT = 16 * TABLE_BYTES;
/** Images of the 64 single-bit registers over LANE_BYTES zeros (init's scratch). */
const BASIS_AT = SHIFT_AT + 8 * TABLE_BYTES;

/** Entry `index` (an i64 byte value expression) of table k. */
function lookup(k: number, byte: string): string {
  return `(i64.load offset=${TABLE_BYTES * k} (i32.shl (i32.wrap_i64 ${byte}) (i32.const 3)))`;
}

/** Byte j (0 = lowest) of the i64 local `name`. */
function byteOf(name: string, j: number): string {
  const shifted =
    j === 0
      ? `(local.get $${name})`
      : `(i64.shr_u (local.get $${name}) (i64.const ${8 * j}))`;
  return j === 7 ? shifted : `(i64.and ${shifted} (i64.const 255))`;
}

/**
 * `init(poly)`: table 0 bit by bit, then table k from table k - 1; then the shift tables, from the images
 * of the 64 single-bit registers over LANE_BYTES zero bytes (linearity: a register's image is the
 * xor of its bits' images).
 */
function init(): string[] {
  return [
    '(func $init (export "init") (param $poly i64)',
    '(local $n i32) (local $c i64) (local $bit i32) (local $k i32) (local $at i32)',
    '(local.set $n (i32.const 0))',
    '(block $t0done (loop $t0',
    '(br_if $t0done (i32.ge_u (local.get $n) (i32.const 256)))',
    '(local.set $c (i64.extend_i32_u (local.get $n)))',
    '(local.set $bit (i32.const 0))',
    '(block $bdone (loop $b',
    '(br_if $bdone (i32.ge_u (local.get $bit) (i32.const 8)))',
    `(local.set $c (select (i64.xor (i64.shr_u (local.get $c) (i64.const 1)) (local.get $poly)) (i64.shr_u (local.get $c) (i64.const 1)) (i32.wrap_i64 (i64.and (local.get $c) (i64.const 1)))))`,
    '(local.set $bit (i32.add (local.get $bit) (i32.const 1)))',
    '(br $b)))',
    '(i64.store (i32.shl (local.get $n) (i32.const 3)) (local.get $c))',
    '(local.set $n (i32.add (local.get $n) (i32.const 1)))',
    '(br $t0)))',
    '(local.set $k (i32.const 1))',
    '(block $kdone (loop $tk',
    '(br_if $kdone (i32.ge_u (local.get $k) (i32.const 16)))',
    '(local.set $n (i32.const 0))',
    '(block $ndone (loop $tn',
    '(br_if $ndone (i32.ge_u (local.get $n) (i32.const 256)))',
    `(local.set $at (i32.add (i32.mul (local.get $k) (i32.const ${TABLE_BYTES})) (i32.shl (local.get $n) (i32.const 3))))`,
    `(local.set $c (i64.load (i32.sub (local.get $at) (i32.const ${TABLE_BYTES}))))`,
    '(i64.store (local.get $at) (i64.xor (i64.shr_u (local.get $c) (i64.const 8)) (i64.load (i32.shl (i32.wrap_i64 (i64.and (local.get $c) (i64.const 255))) (i32.const 3)))))',
    '(local.set $n (i32.add (local.get $n) (i32.const 1)))',
    '(br $tn)))',
    '(local.set $k (i32.add (local.get $k) (i32.const 1)))',
    '(br $tk)))',
    // the basis: bit k's register run over LANE_BYTES zero bytes
    '(local.set $k (i32.const 0))',
    '(block $zdone (loop $z',
    '(br_if $zdone (i32.ge_u (local.get $k) (i32.const 64)))',
    '(local.set $c (i64.shl (i64.const 1) (i64.extend_i32_u (local.get $k))))',
    '(local.set $n (i32.const 0))',
    '(block $zndone (loop $zn',
    `(br_if $zndone (i32.ge_u (local.get $n) (i32.const ${LANE_BYTES})))`,
    '(local.set $c (i64.xor (i64.shr_u (local.get $c) (i64.const 8)) (i64.load (i32.shl (i32.wrap_i64 (i64.and (local.get $c) (i64.const 255))) (i32.const 3)))))',
    '(local.set $n (i32.add (local.get $n) (i32.const 1)))',
    '(br $zn)))',
    `(i64.store offset=${BASIS_AT} (i32.shl (local.get $k) (i32.const 3)) (local.get $c))`,
    '(local.set $k (i32.add (local.get $k) (i32.const 1)))',
    '(br $z)))',
    // shift table j, entry n: the xor of the images of the bits of n << 8j
    '(local.set $k (i32.const 0))',
    '(block $sdone (loop $s',
    '(br_if $sdone (i32.ge_u (local.get $k) (i32.const 2048)))',
    '(local.set $c (i64.const 0))',
    '(local.set $bit (i32.const 0))',
    '(block $sbdone (loop $sb',
    '(br_if $sbdone (i32.ge_u (local.get $bit) (i32.const 8)))',
    // k = 256 j + n; bit b of n is bit 8 j + b of the register
    `(local.set $c (i64.xor (local.get $c) (select (i64.load offset=${BASIS_AT} (i32.shl (i32.add (i32.shl (i32.shr_u (local.get $k) (i32.const 8)) (i32.const 3)) (local.get $bit)) (i32.const 3))) (i64.const 0) (i32.and (i32.shr_u (local.get $k) (local.get $bit)) (i32.const 1)))))`,
    '(local.set $bit (i32.add (local.get $bit) (i32.const 1)))',
    '(br $sb)))',
    `(i64.store offset=${SHIFT_AT} (i32.shl (local.get $k) (i32.const 3)) (local.get $c))`,
    '(local.set $k (i32.add (local.get $k) (i32.const 1)))',
    '(br $s)))',
    ')',
  ];
}

/** One slicing-by-16 step of the register `crc<l>` over the sixteen bytes at `p<l>`. */
function step(l: number): string[] {
  const terms: string[] = [];
  for (let j = 0; j < 8; j++) terms.push(lookup(15 - j, byteOf(`a${l}`, j)));
  for (let j = 0; j < 8; j++) terms.push(lookup(7 - j, byteOf(`b${l}`, j)));
  // a balanced xor tree: four levels instead of a chain of fifteen
  let level = terms;
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(`(i64.xor ${level[i]} ${level[i + 1]})`);
    level = next;
  }
  return [
    `(local.set $a${l} (i64.xor (i64.load offset=${l * LANE_BYTES} (local.get $p)) (local.get $c${l})))`,
    `(local.set $b${l} (i64.load offset=${l * LANE_BYTES + 8} (local.get $p)))`,
    `(local.set $c${l} ${level[0]})`,
  ];
}

/** The register `x` advanced over LANE_BYTES zero bytes: eight lookups in the shift tables. */
function shift(x: string): string {
  const terms: string[] = [];
  for (let j = 0; j < 8; j++) {
    const byte = j === 0 ? x : `(i64.shr_u ${x} (i64.const ${8 * j}))`;
    const masked = j === 7 ? byte : `(i64.and ${byte} (i64.const 255))`;
    terms.push(
      `(i64.load offset=${SHIFT_AT + TABLE_BYTES * j} (i32.shl (i32.wrap_i64 ${masked}) (i32.const 3)))`,
    );
  }
  let level = terms;
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(`(i64.xor ${level[i]} ${level[i + 1]})`);
    level = next;
  }
  return level[0];
}

/**
 * `update(crc, len)`: the CRC register (not inverted) after the `len` bytes at INPUT_AT.
 *
 * A register's steps depend on each other (load, lookups, xor, next step), so one stream leaves
 * most of the core idle. Each block of LANES * LANE_BYTES is split into LANES streams whose
 * registers advance side by side (the first from `crc`, the others from zero), then joined: CRCs
 * are linear, so crc(A B) = shift(crc(A), |B|) xor crc0(B), and the shift over LANE_BYTES zero
 * bytes is eight lookups in tables `init` made. The rest (under a block) is one stream of
 * slicing-by-16 steps, then byte by byte.
 */
function update(): string[] {
  const lanes = Array.from({ length: LANES }, (_, l) => l);
  let joined = '(local.get $c0)';
  for (let l = 1; l < LANES; l++)
    joined = `(i64.xor ${shift(joined)} (local.get $c${l}))`;
  return [
    '(func $update (export "update") (param $crc i64) (param $len i32) (result i64)',
    '(local $p i32) (local $end i32) (local $blockEnd i32)',
    ...lanes.map(
      l => `(local $a${l} i64) (local $b${l} i64) (local $c${l} i64)`,
    ),
    `(local.set $p (i32.const ${INPUT_AT}))`,
    `(local.set $end (i32.add (i32.const ${INPUT_AT}) (i32.sub (local.get $len) (i32.rem_u (local.get $len) (i32.const ${BLOCK_BYTES})))))`,
    '(block $blocksDone (loop $block',
    '(br_if $blocksDone (i32.ge_u (local.get $p) (local.get $end)))',
    '(local.set $c0 (local.get $crc))',
    ...lanes.slice(1).map(l => `(local.set $c${l} (i64.const 0))`),
    `(local.set $blockEnd (i32.add (local.get $p) (i32.const ${LANE_BYTES})))`,
    '(block $lanesDone (loop $lanes',
    '(br_if $lanesDone (i32.ge_u (local.get $p) (local.get $blockEnd)))',
    ...lanes.flatMap(step),
    '(local.set $p (i32.add (local.get $p) (i32.const 16)))',
    '(br $lanes)))',
    `(local.set $crc ${joined})`,
    `(local.set $p (i32.add (local.get $p) (i32.const ${BLOCK_BYTES - LANE_BYTES})))`,
    '(br $block)))',
    `(local.set $end (i32.add (i32.const ${INPUT_AT}) (i32.and (local.get $len) (i32.const -16))))`,
    '(local.set $c0 (local.get $crc))',
    '(block $done (loop $one',
    '(br_if $done (i32.ge_u (local.get $p) (local.get $end)))',
    ...step(0),
    '(local.set $p (i32.add (local.get $p) (i32.const 16)))',
    '(br $one)))',
    '(local.set $crc (local.get $c0))',
    `(local.set $end (i32.add (i32.const ${INPUT_AT}) (local.get $len)))`,
    '(block $tdone (loop $tail',
    '(br_if $tdone (i32.ge_u (local.get $p) (local.get $end)))',
    `(local.set $crc (i64.xor (i64.shr_u (local.get $crc) (i64.const 8)) ${lookup(0, '(i64.and (i64.xor (local.get $crc) (i64.load8_u (local.get $p))) (i64.const 255))')}))`,
    '(local.set $p (i32.add (local.get $p) (i32.const 1)))',
    '(br $tail)))',
    '(local.get $crc)',
    ')',
  ];
}

/** The module's text. */
export function crc64Wat(): string {
  return [
    '(module',
    `(memory (export "memory") ${MEMORY_PAGES} ${MEMORY_PAGES})`,
    ...init(),
    ...update(),
    ')',
    '',
  ].join('\n');
}
