/**
 * The WebAssembly text of a multi-buffer MD5: `md5x4` runs the compression of four independent
 * messages at once in 128-bit SIMD lanes, `md5x1` one message in scalar code. MD5 is a chain of
 * dependent steps, so one message cannot go faster than about 450 MB/s per core here (OpenSSL's
 * assembly, 2.35 s/GiB); four messages side by side cost about the same per step, 0.77 s/GiB for the
 * four together (measured 2026-12-03). MinIO and its Go client hash many streams the same way
 * (minio/md5-simd, after Intel's multi-buffer MD5).
 *
 * Generated text, compiled with wabt into md5Wasm.ts (see md5Wasm.test.ts): unrolled steps and
 * constants are written out by code rather than by hand, so that a typo cannot hide in 64 steps.
 *
 * Memory layout (all offsets in bytes, words little-endian):
 *   0..63     state: word w (A, B, C, D) of lane l at 16 * w + 4 * l (md5x1 uses lane 0)
 *   64..79    blocks to run for each lane (i32 x 4, md5x4 only; a lane with fewer blocks keeps its
 *             state once its blocks are done)
 *   65536 + l * LANE_BYTES   lane l's input, 64-byte blocks back to back
 */

/** Bytes of input each lane holds (a multiple of 64). */
export const LANE_BYTES = 1024 * 1024;
/** Where lane 0's input starts. */
export const LANES_AT = 65536;
/** Where md5x4 reads each lane's block count. */
export const COUNTS_AT = 64;
/** Pages of 64 KiB the module's memory has: the header page and four lanes. */
export const MEMORY_PAGES = 1 + (4 * LANE_BYTES) / 65536;

const SHIFTS = [
  [7, 12, 17, 22],
  [5, 9, 14, 20],
  [4, 11, 16, 23],
  [6, 10, 15, 21],
];
/** K[i] = floor(|sin(i + 1)| * 2^32), as signed 32-bit for the text format. */
const K = Array.from(
  { length: 64 },
  (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0,
);

/** The message word step i uses. */
function wordOf(i: number): number {
  const round = i >> 4;
  if (round === 0) return i;
  if (round === 1) return (5 * i + 1) % 16;
  if (round === 2) return (3 * i + 5) % 16;
  return (7 * i) % 16;
}

interface Ops {
  type: 'v128' | 'i32';
  add(x: string, y: string): string;
  /** The round function of round r on b, c, d. */
  round(r: number, b: string, c: string, d: string): string;
  konst(k: number): string;
  /** rotl(t, s) where t is a local's name. */
  rotl(t: string, s: number): string;
}

const SIMD: Ops = {
  type: 'v128',
  add: (x, y) => `(i32x4.add ${x} ${y})`,
  round(r, b, c, d) {
    if (r === 0) return `(v128.bitselect ${c} ${d} ${b})`;
    if (r === 1) return `(v128.bitselect ${b} ${c} ${d})`;
    if (r === 2) return `(v128.xor ${b} (v128.xor ${c} ${d}))`;
    return `(v128.xor ${c} (v128.or ${b} (v128.not ${d})))`;
  },
  konst: k => `(v128.const i32x4 ${k} ${k} ${k} ${k})`,
  rotl: (t, s) =>
    `(v128.or (i32x4.shl (local.get $${t}) (i32.const ${s})) (i32x4.shr_u (local.get $${t}) (i32.const ${32 - s})))`,
};

const SCALAR: Ops = {
  type: 'i32',
  add: (x, y) => `(i32.add ${x} ${y})`,
  round(r, b, c, d) {
    if (r === 0) return `(i32.xor ${d} (i32.and ${b} (i32.xor ${c} ${d})))`;
    if (r === 1) return `(i32.xor ${c} (i32.and ${d} (i32.xor ${b} ${c})))`;
    if (r === 2) return `(i32.xor ${b} (i32.xor ${c} ${d}))`;
    return `(i32.xor ${c} (i32.or ${b} (i32.xor ${d} (i32.const -1))))`;
  },
  konst: k => `(i32.const ${k})`,
  rotl: (t, s) => `(i32.rotl (local.get $${t}) (i32.const ${s}))`,
};

/** The 64 steps on locals a, b, c, d and message words m0..m15. */
function steps(ops: Ops): string[] {
  const out: string[] = [];
  let [a, b, c, d] = ['a', 'b', 'c', 'd'];
  const get = (name: string) => `(local.get $${name})`;
  for (let i = 0; i < 64; i++) {
    const r = i >> 4;
    const f = ops.round(r, get(b), get(c), get(d));
    // f last: a, the constant and the message word are known steps ahead, so only the round
    // function, one add, the rotation and the add of b wait for the step before (10% faster).
    const sum = ops.add(
      f,
      ops.add(get(a), ops.add(ops.konst(K[i]), get(`m${wordOf(i)}`))),
    );
    out.push(`(local.set $t ${sum})`);
    out.push(
      `(local.set $${a} ${ops.add(get(b), ops.rotl('t', SHIFTS[r][i % 4]))})`,
    );
    [a, b, c, d] = [d, a, b, c];
  }
  return out;
}

const WORDS = ['a', 'b', 'c', 'd'];
const MESSAGE = Array.from({ length: 16 }, (_, j) => `m${j}`);

function locals(type: string, names: string[]): string[] {
  return names.map(n => `(local $${n} ${type})`);
}

function md5x4(): string[] {
  const lane = (l: number, j: number) =>
    `(i32.add (local.get $off) (i32.const ${LANES_AT + l * LANE_BYTES + 4 * j}))`;
  const load = (j: number) =>
    `(v128.load32_lane 3 ${lane(3, j)} (v128.load32_lane 2 ${lane(2, j)} (v128.load32_lane 1 ${lane(1, j)} (v128.load32_zero ${lane(0, j)}))))`;
  return [
    '(func $md5x4 (export "md5x4") (param $blocks i32)',
    ...locals('v128', [
      ...WORDS,
      ...WORDS.map(w => `${w}0`),
      't',
      'counts',
      'mask',
      ...MESSAGE,
    ]),
    '(local $blk i32) (local $off i32)',
    ...WORDS.map(
      (w, i) => `(local.set $${w} (v128.load (i32.const ${16 * i})))`,
    ),
    `(local.set $counts (v128.load (i32.const ${COUNTS_AT})))`,
    '(block $done (loop $next',
    '(br_if $done (i32.ge_u (local.get $blk) (local.get $blocks)))',
    ...MESSAGE.map((m, j) => `(local.set $${m} ${load(j)})`),
    ...WORDS.map(w => `(local.set $${w}0 (local.get $${w}))`),
    ...steps(SIMD),
    // lanes whose blocks are done keep their state
    '(local.set $mask (i32x4.gt_s (local.get $counts) (i32x4.splat (local.get $blk))))',
    ...WORDS.map(
      w =>
        `(local.set $${w} (v128.bitselect (i32x4.add (local.get $${w}) (local.get $${w}0)) (local.get $${w}0) (local.get $mask)))`,
    ),
    '(local.set $off (i32.add (local.get $off) (i32.const 64)))',
    '(local.set $blk (i32.add (local.get $blk) (i32.const 1)))',
    '(br $next)))',
    ...WORDS.map(
      (w, i) => `(v128.store (i32.const ${16 * i}) (local.get $${w}))`,
    ),
    ')',
  ];
}

function md5x1(): string[] {
  return [
    '(func $md5x1 (export "md5x1") (param $blocks i32)',
    ...locals('i32', [...WORDS, ...WORDS.map(w => `${w}0`), 't', ...MESSAGE]),
    `(local $p i32) (local.set $p (i32.const ${LANES_AT}))`,
    ...WORDS.map(
      (w, i) => `(local.set $${w} (i32.load (i32.const ${16 * i})))`,
    ),
    '(block $done (loop $next',
    '(br_if $done (i32.eqz (local.get $blocks)))',
    ...MESSAGE.map(
      (m, j) => `(local.set $${m} (i32.load offset=${4 * j} (local.get $p)))`,
    ),
    ...WORDS.map(w => `(local.set $${w}0 (local.get $${w}))`),
    ...steps(SCALAR),
    ...WORDS.map(
      w => `(local.set $${w} (i32.add (local.get $${w}) (local.get $${w}0)))`,
    ),
    '(local.set $p (i32.add (local.get $p) (i32.const 64)))',
    '(local.set $blocks (i32.sub (local.get $blocks) (i32.const 1)))',
    '(br $next)))',
    ...WORDS.map(
      (w, i) => `(i32.store (i32.const ${16 * i}) (local.get $${w}))`,
    ),
    ')',
  ];
}

/** The module's text. */
export function md5Wat(): string {
  return [
    '(module',
    `(memory (export "memory") ${MEMORY_PAGES} ${MEMORY_PAGES})`,
    ...md5x4(),
    ...md5x1(),
    ')',
    '',
  ].join('\n');
}
