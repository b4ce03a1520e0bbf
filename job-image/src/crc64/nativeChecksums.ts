/**
 * CRC-64/NVME by carry-less multiplication and CRC-32C by SSE4.2 in the job's native addon
 * (native/checksums.c, nativeAddon.ts), about five times the WebAssembly code's speed
 * (job-image/README.md, "Checksums in the CPU's instructions"). Without the addon, or on a CPU
 * without the instructions, crc64.ts uses WebAssembly, which gives the same digests; the job's
 * first log line says which (run.ts).
 */
import { loadNativeAddon } from '../nativeAddon';

/** The addon's functions update a register (reflected, not inverted), as the WebAssembly code does. */
export interface NativeChecksums {
  crc64nvme(register: bigint, data: Uint8Array): bigint;
  crc32c(register: number, data: Uint8Array): number;
}

interface Addon extends Partial<NativeChecksums> {
  accelerated?: boolean;
}

/** The addon's checksums, or why the job goes without them. */
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
export function loadNativeChecksums(file?: string): NativeLoad {
  const loaded = loadNativeAddon(file);
  if (!loaded.exports) return { problem: loaded.problem };
  const addon = loaded.exports as Addon;
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
  return {
    problem: `${file ?? 'the addon'} does not compute the check values`,
  };
}
