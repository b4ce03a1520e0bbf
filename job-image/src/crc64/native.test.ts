/**
 * The native addon's checksums (native/checksums.c) as build.mjs compiles it beside the bundle: the
 * same registers as the WebAssembly code (which the TypeScript sources use under these tests) for
 * every length, alignment and starting register, across the folds' thresholds, and the check values
 * of both CRCs. This machine has the instructions, so the addon must load: no silent fallback here.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ensureBundle } from '../__testUtils__/job';
import { crc64NvmeUpdate, checksumEngine } from './crc64';
import { CRC32C_POLY } from './crc64Wat';
import { NATIVE_ADDON_FILE } from '../nativeAddon';
import { loadNativeChecksums, NativeChecksums } from './nativeChecksums';

/** CRC-32C's register after `data`, bit by bit from its definition. */
function crc32cReference(register: number, data: Uint8Array): number {
  let c = register >>> 0;
  const poly = Number(CRC32C_POLY);
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
  }
  return c >>> 0;
}

const u64 = (v: bigint) => BigInt.asUintN(64, v);

describe("the native addon's checksums", () => {
  let native: NativeChecksums;
  let file: string;

  beforeAll(() => {
    file = path.join(path.dirname(ensureBundle()), NATIVE_ADDON_FILE);
    const loaded = loadNativeChecksums(file);
    if (!loaded.checksums)
      throw new Error(`the addon is not usable here: ${loaded.problem}`);
    native = loaded.checksums;
  });

  it('has the check values of CRC-64/NVME and CRC-32C', () => {
    const data = Buffer.from('123456789');
    expect(u64(~native.crc64nvme(-1n, data)).toString(16)).toBe(
      'ae8b14860a799888',
    );
    expect((~native.crc32c(0xffffffff, data) >>> 0).toString(16)).toBe(
      'e3069283',
    );
  });

  it('gives the WebAssembly registers for every length, alignment and starting register', () => {
    // the tests run the TypeScript sources: crc64NvmeUpdate is the WebAssembly code here
    expect(checksumEngine()).toEqual({
      engine: 'webassembly',
      problem: 'not running as the bundle',
    });
    const lengths = [
      ...Array.from({ length: 300 }, (_, i) => i),
      ...[511, 512, 513, 1023, 1024, 1025, 65535, 65536, 65537],
      ...Array.from({ length: 40 }, () => randomInt(0, 1 << 20)),
    ];
    for (const length of lengths) {
      const offset = randomInt(0, 16);
      const data = randomBytes(length + offset).subarray(offset);
      const start = BigInt.asIntN(64, randomBytes(8).readBigUInt64LE());
      expect(u64(native.crc64nvme(start, data))).toBe(
        u64(crc64NvmeUpdate(start, data)),
      );
    }
  });

  it('gives the CRC-32C registers of the definition for every length, alignment and starting register', () => {
    for (let length = 0; length < 600; length += 1 + (length >> 5)) {
      const offset = randomInt(0, 16);
      const data = randomBytes(length + offset).subarray(offset);
      const start = randomBytes(4).readUInt32LE();
      expect(native.crc32c(start, data)).toBe(crc32cReference(start, data));
    }
  });

  it('streams: a body fed in pieces ends with the register of the whole', () => {
    const data = randomBytes(3 * 1024 * 1024 + 77);
    let whole64 = native.crc64nvme(-1n, data);
    let whole32 = native.crc32c(0xffffffff, data);
    let r64 = -1n;
    let r32 = 0xffffffff;
    for (let at = 0; at < data.length;) {
      const cut = Math.min(data.length, at + randomInt(1, 200_000));
      r64 = native.crc64nvme(r64, data.subarray(at, cut));
      r32 = native.crc32c(r32, data.subarray(at, cut));
      at = cut;
    }
    expect(u64(r64)).toBe(u64(whole64));
    expect(r32).toBe(whole32);
    // and a changed byte changes both
    data[data.length >> 1] ^= 1;
    whole64 = native.crc64nvme(-1n, data);
    whole32 = native.crc32c(0xffffffff, data);
    expect(u64(whole64)).not.toBe(u64(r64));
    expect(whole32).not.toBe(r32);
  });

  it('refuses arguments of the wrong types with a TypeError', () => {
    // the addon's TypeError is the main realm's, not the test sandbox's: compared by name
    const thrown = (f: () => unknown): unknown => {
      try {
        f();
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const call = (f: () => unknown) =>
      expect(thrown(f)).toMatchObject({
        name: 'TypeError',
        message: expect.stringMatching(
          /^crc(64nvme|32c)\(register: (bigint|number), data: Uint8Array\)$/,
        ),
      });
    call(() => native.crc64nvme(1 as unknown as bigint, Buffer.alloc(3)));
    call(() => native.crc64nvme(1n, 'abc' as unknown as Uint8Array));
    call(() =>
      native.crc64nvme(1n, new Uint16Array(4) as unknown as Uint8Array),
    );
    call(() => native.crc32c(1, undefined as unknown as Uint8Array));
    call(() => native.crc32c('1' as unknown as number, Buffer.alloc(3)));
    // registers out of range: a bigint beyond 64 bits, a number that is no uint32
    call(() => native.crc64nvme(2n ** 70n, Buffer.alloc(3)));
    call(() => native.crc32c(-1, Buffer.alloc(3)));
    call(() => native.crc32c(1.5, Buffer.alloc(3)));
    call(() => native.crc32c(2 ** 32, Buffer.alloc(3)));
    // and both forms of a 64-bit register are one register
    expect(native.crc64nvme(2n ** 64n - 1n, Buffer.from('a'))).toBe(
      native.crc64nvme(-1n, Buffer.from('a')),
    );
  });

  it('loads in a worker thread as well, where it gives the same registers', async () => {
    const data = randomBytes(100_003);
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const addon = require(workerData.file);
      parentPort.postMessage(String(addon.crc64nvme(-1n, workerData.data)));`;
    const worker = new Worker(code, { eval: true, workerData: { file, data } });
    const answer = await new Promise<string>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(BigInt(answer)).toBe(native.crc64nvme(-1n, data));
  });

  it('is optional: a missing or broken file means WebAssembly, and says why', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-native-'));
    try {
      const absent = path.join(dir, 'absent.node');
      expect(loadNativeChecksums(absent)).toEqual({
        problem: expect.stringContaining(`${absent}: Cannot find module`),
      });
      const broken = path.join(dir, NATIVE_ADDON_FILE);
      await fsp.writeFile(broken, 'not an ELF file');
      expect(loadNativeChecksums(broken)).toEqual({
        problem: expect.stringContaining(broken),
      });
      // a module that loads but computes wrong values is refused at load, not at every object
      const wrong = path.join(dir, 'wrong.js');
      await fsp.writeFile(
        wrong,
        'module.exports = { accelerated: true, crc64nvme: r => r, crc32c: r => r };',
      );
      expect(loadNativeChecksums(wrong)).toEqual({
        problem: `${wrong} does not compute the check values`,
      });
      const slow = path.join(dir, 'slow.js');
      await fsp.writeFile(slow, 'module.exports = { accelerated: false };');
      expect(loadNativeChecksums(slow)).toEqual({
        problem: 'this CPU lacks PCLMULQDQ or SSE4.2',
      });
      expect(loadNativeChecksums(file).checksums).toBeDefined();
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('logs its speed beside that of the WebAssembly code over the same 32 MiB, with the same result (bench/ measures the job)', () => {
    const data = randomBytes(32 * 1024 * 1024);
    const gibs = (f: () => void) => {
      let best = Infinity;
      for (let i = 0; i < 5; i++) {
        const t = process.hrtime.bigint();
        f();
        best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e9);
      }
      return data.length / 2 ** 30 / best;
    };
    const results: bigint[] = [];
    const piecewise = (update: (r: bigint, d: Buffer) => bigint) => () => {
      let r = -1n;
      for (let at = 0; at < data.length; at += 1 << 20)
        r = update(r, data.subarray(at, at + (1 << 20)));
      results.push(u64(r));
    };
    const nat = gibs(piecewise((r, d) => native.crc64nvme(r, d)));
    const wasm = gibs(piecewise(crc64NvmeUpdate));
    expect(new Set(results).size).toBe(1);
    // eslint-disable-next-line no-console
    console.log(
      `CRC-64/NVME: native ${nat.toFixed(2)} GiB/s, WebAssembly ${wasm.toFixed(2)} GiB/s`,
    );
  });
});
