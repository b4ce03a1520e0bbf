/**
 * CRC-64/NVME over Buffers, in WebAssembly (crc64Wat.ts): one module instance for the process, fed
 * up to a MiB at a time. Single-threaded like the rest of the main thread's work, so no locking.
 */
import { CRC64_WASM_BASE64 } from './crc64Wasm';
import { INPUT_AT, INPUT_BYTES } from './crc64Wat';

interface Crc64Exports {
  memory: WebAssembly.Memory;
  init(): void;
  update(crc: bigint, len: number): bigint;
}

let module: { exports: Crc64Exports; input: Uint8Array } | undefined;

function instance(): { exports: Crc64Exports; input: Uint8Array } {
  if (!module) {
    const exports = new WebAssembly.Instance(
      new WebAssembly.Module(Buffer.from(CRC64_WASM_BASE64, 'base64')),
    ).exports as unknown as Crc64Exports;
    exports.init();
    module = {
      exports,
      input: new Uint8Array(exports.memory.buffer, INPUT_AT, INPUT_BYTES),
    };
  }
  return module;
}

/** The CRC register (not inverted) after `data`, from `crc`. */
export function crc64NvmeUpdate(crc: bigint, data: Uint8Array): bigint {
  const { exports, input } = instance();
  let value = crc;
  for (let at = 0; at < data.length; at += INPUT_BYTES) {
    const piece = data.subarray(at, Math.min(data.length, at + INPUT_BYTES));
    input.set(piece);
    value = exports.update(value, piece.length);
  }
  return value;
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
