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

/**
 * The addon at `file` (default: beside the bundle, when this code runs as one), if it loads and the
 * CPU has its instructions; otherwise undefined.
 */
export function loadNativeChecksums(
  file: string | undefined = besideTheBundle(),
): NativeChecksums | undefined {
  if (!file) return undefined;
  let addon: Addon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a native addon
    addon = require(file);
  } catch {
    return undefined;
  }
  const { crc64nvme, crc32c } = addon;
  if (addon.accelerated !== true || !crc64nvme || !crc32c) return undefined;
  return { crc64nvme, crc32c };
}
