/**
 * The job's native addon (native/: checksums.c, smallFiles.c), `native.node` beside the bundle:
 * build.mjs and the image put it there. It is optional: without it (another architecture, a bundle
 * copied without it, the tests of the TypeScript sources) the job computes its CRCs in WebAssembly
 * (crc64/nativeChecksums.ts) and writes small files with Node's own calls (smallFileWriter.ts).
 */
import path from 'node:path';

export const NATIVE_ADDON_FILE = 'native.node';

/** The addon's exports, each checked by the part that uses it. */
export type NativeExports = Record<string, unknown>;

/** The addon, or why the job goes without it. */
export type AddonLoad =
  | { exports: NativeExports; problem?: undefined }
  | { exports?: undefined; problem: string };

/** The addon's path beside the bundle, when this code runs as one. */
export function addonBesideTheBundle(): string | undefined {
  /* eslint-disable no-restricted-syntax -- the bundle's own directory (esbuild keeps __filename
     and __dirname); the TypeScript sources have no addon beside them */
  return __filename.endsWith('.cjs')
    ? path.join(__dirname, NATIVE_ADDON_FILE)
    : undefined;
  /* eslint-enable no-restricted-syntax */
}

/** The addon at `file` (default: beside the bundle), or why not. */
export function loadNativeAddon(
  file: string | undefined = addonBesideTheBundle(),
): AddonLoad {
  if (!file) return { problem: 'not running as the bundle' };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a native addon
    return { exports: require(file) as NativeExports };
  } catch (error) {
    return { problem: `${file}: ${(error as Error).message.split('\n')[0]}` };
  }
}
