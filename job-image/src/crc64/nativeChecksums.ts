/**
 * The native checksum addon (native/checksums.c): CRC-64/NVME by carry-less multiplication and
 * CRC-32C by SSE4.2, about five times the WebAssembly code's speed (job-image/README.md, "Checksums
 * in the CPU's instructions"). build.mjs and the image put `checksums.node` beside the bundle; the
 * bundle loads it from there. It is optional: without it (a CPU without the instructions, another
 * architecture, a bundle copied without it, the tests of the TypeScript sources) crc64.ts uses
 * WebAssembly, which gives the same digests; the job's first log line says which (run.ts).
 */
import path from 'node:path';

export const NATIVE_CHECKSUMS_FILE = 'checksums.node';

/** The addon's functions update a register (reflected, not inverted), as the WebAssembly code does. */
export interface NativeChecksums {
  crc64nvme(register: bigint, data: Uint8Array): bigint;
  crc32c(register: number, data: Uint8Array): number;
}

interface Addon extends Partial<NativeChecksums> {
  accelerated?: boolean;
}

function besideTheBundle(): string | undefined {
  /* eslint-disable no-restricted-syntax -- the bundle's own directory (esbuild keeps __filename
     and __dirname); the TypeScript sources have no addon beside them */
  return __filename.endsWith('.cjs')
    ? path.join(__dirname, NATIVE_CHECKSUMS_FILE)
    : undefined;
  /* eslint-enable no-restricted-syntax */
}

/** The addon, or why the job goes without it. */
export type NativeLoad =
  | { checksums: NativeChecksums; problem?: undefined }
  | { checksums?: undefined; problem: string };

const CHECK_INPUT = Buffer.from('123456789');
/** The check values of CRC-64/NVME and CRC-32C (of CHECK_INPUT, final xor applied). */
const CRC64NVME_CHECK = 0xae8b14860a799888n;
const CRC32C_CHECK = 0xe3069283;

/**
 * The addon at `file` (default: beside the bundle, when this code runs as one), if it loads, the CPU
 * has its instructions and it computes both check values (a broken build falls back rather than
 * failing every object); otherwise the reason.
 */
export function loadNativeChecksums(
  file: string | undefined = besideTheBundle(),
): NativeLoad {
  if (!file) return { problem: 'not running as the bundle' };
  let addon: Addon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a native addon
    addon = require(file);
  } catch (error) {
    return { problem: `${file}: ${(error as Error).message.split('\n')[0]}` };
  }
  const { crc64nvme, crc32c } = addon;
  if (addon.accelerated !== true || !crc64nvme || !crc32c)
    return { problem: 'this CPU lacks PCLMULQDQ or SSE4.2' };
  try {
    const crc64 = BigInt.asUintN(64, ~crc64nvme(-1n, CHECK_INPUT));
    const crc32 = ~crc32c(0xffffffff, CHECK_INPUT) >>> 0;
    if (crc64 === CRC64NVME_CHECK && crc32 === CRC32C_CHECK)
      return { checksums: { crc64nvme, crc32c } };
  } catch {
    // a wrong result or a throw: the same answer
  }
  return { problem: `${file} does not compute the check values` };
}
