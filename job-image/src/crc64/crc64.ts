/**
 * CRC-64/NVME and CRC-32C over Buffers: in the CPU's instructions through the native addon when it
 * is there (nativeChecksums.ts), else in WebAssembly (crc64Wat.ts): one module instance per
 * polynomial for the process, fed up to a MiB at a time. Single-threaded like the rest of the main
 * thread's work, so no locking. Both engines give the same digests (native.test.ts).
 */
import { CRC64_WASM_BASE64 } from './crc64Wasm';
import { CRC32C_POLY, CRC64NVME_POLY, INPUT_AT, INPUT_BYTES } from './crc64Wat';
import { loadNativeChecksums, NativeLoad } from './nativeChecksums';

interface CrcExports {
  memory: WebAssembly.Memory;
  init(poly: bigint): void;
  update(crc: bigint, len: number): bigint;
}

interface CrcInstance {
  exports: CrcExports;
  input: Uint8Array;
}

let compiled: WebAssembly.Module | undefined;
const instances = new Map<bigint, CrcInstance>();

function instance(poly: bigint): CrcInstance {
  let found = instances.get(poly);
  if (!found) {
    compiled ??= new WebAssembly.Module(
      Buffer.from(CRC64_WASM_BASE64, 'base64'),
    );
    const exports = new WebAssembly.Instance(compiled)
      .exports as unknown as CrcExports;
    exports.init(BigInt.asIntN(64, poly));
    found = {
      exports,
      input: new Uint8Array(exports.memory.buffer, INPUT_AT, INPUT_BYTES),
    };
    instances.set(poly, found);
  }
  return found;
}

let native: NativeLoad | undefined;

/** The native addon or why not, loaded at the first checksum. */
function nativeLoad(): NativeLoad {
  native ??= loadNativeChecksums();
  return native;
}

/** The native addon's functions (undefined: WebAssembly it is). */
function nativeChecksums() {
  return nativeLoad().checksums;
}

/**
 * Which code computes CRC-64/NVME and CRC-32C in this process, and why not the addon when it is
 * WebAssembly (the job logs both at its start).
 */
export function checksumEngine(): {
  engine: 'native' | 'webassembly';
  problem?: string;
} {
  const { checksums, problem } = nativeLoad();
  return checksums ? { engine: 'native' } : { engine: 'webassembly', problem };
}

function crcUpdate(poly: bigint, crc: bigint, data: Uint8Array): bigint {
  const { exports, input } = instance(poly);
  let value = crc;
  for (let at = 0; at < data.length; at += INPUT_BYTES) {
    const piece = data.subarray(at, Math.min(data.length, at + INPUT_BYTES));
    input.set(piece);
    value = exports.update(value, piece.length);
  }
  return value;
}

/** The CRC-64/NVME register (not inverted) after `data`, from `crc`. */
export function crc64NvmeUpdate(crc: bigint, data: Uint8Array): bigint {
  const fast = nativeChecksums();
  return fast
    ? fast.crc64nvme(crc, data)
    : crcUpdate(CRC64NVME_POLY, crc, data);
}

/** CRC-32C, digest as S3 writes it: the 4 bytes big-endian, in base64. */
export class Crc32c {
  private value = 0xffffffffn;
  update(chunk: Uint8Array): void {
    const fast = nativeChecksums();
    this.value = fast
      ? BigInt(fast.crc32c(Number(this.value), chunk))
      : BigInt.asUintN(32, crcUpdate(CRC32C_POLY, this.value, chunk));
  }
  get raw(): number {
    return Number(BigInt.asUintN(32, ~this.value));
  }
  rawDigest(): Buffer {
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE(this.raw);
    return out;
  }
  digest(): string {
    return this.rawDigest().toString('base64');
  }
}

/** CRC-64/NVME, digest as S3 writes it: the 8 bytes big-endian, in base64. */
export class Crc64Nvme {
  private value = -1n;
  update(chunk: Uint8Array): void {
    this.value = crc64NvmeUpdate(this.value, chunk);
  }
  /** The checksum's 8 bytes, big-endian. */
  rawDigest(): Buffer {
    const out = Buffer.allocUnsafe(8);
    out.writeBigUInt64BE(BigInt.asUintN(64, ~this.value));
    return out;
  }
  digest(): string {
    return this.rawDigest().toString('base64');
  }
}
