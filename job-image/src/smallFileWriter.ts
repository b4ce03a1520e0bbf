/**
 * Small files written whole in one trip through libuv's thread pool by the native addon
 * (native/smallFiles.c): create, write, attributes, sync, close and the rename inside a directory
 * held by its descriptor, with its real path checked before and after the rename, all on a pool
 * thread. Node's own calls take a trip through the pool each (eight a file), or hold the main
 * thread for all of them while every other transfer waits (smallBodyWrites.ts, smallWrites.ts).
 */
// Named imports: a default import of node:util is copied whole, which loads worker_threads at start.
import { getSystemErrorMessage, getSystemErrorName } from 'node:util';
import { loadNativeAddon } from './nativeAddon';

export interface SmallFileWrite {
  /** The directory held (dirOps.ts), and the real path it must still have. */
  dirFd: number;
  expectedDir: string;
  /** Single path components in that directory. */
  tempName: string;
  finalName: string;
  chunks: readonly Uint8Array[];
  /** Permission bits: set after the create when given (0644, less the umask, otherwise). */
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  fsync: boolean;
  /** The final path, for error messages. */
  path: string;
}

export type WriteFileIn = (write: SmallFileWrite) => Promise<void>;

/** The directory held was no longer the one expected: before the rename (none done), or after it. */
export class DirectoryMoved extends Error {
  constructor(
    readonly when: 'before' | 'after',
    readonly real: string,
  ) {
    super(`the directory held moved (${when} the rename) to "${real}"`);
  }
}

type NativeWriteFileIn = (
  dirFd: number,
  tempName: string,
  finalName: string,
  expectedDir: string,
  chunks: readonly Uint8Array[],
  mode: number,
  setMode: boolean,
  uid: number,
  gid: number,
  mtimeSec: number,
  mtimeNsec: number,
  fsync: boolean,
) => Promise<void>;

interface NativeFailure {
  errno?: number;
  syscall?: string;
  moved?: string;
  real?: string;
}

/** A failed call as Node's fs reports one (code, errno, syscall, path), for the callers' rules. */
function systemError(errno: number, syscall: string, file: string): Error {
  const code = getSystemErrorName(-errno);
  const message = getSystemErrorMessage(-errno);
  return Object.assign(new Error(`${code}: ${message}, ${syscall} '${file}'`), {
    errno: -errno,
    code,
    syscall,
    path: file,
  });
}

/** The addon's writeFileIn with the request as an object and its failures as Node's. */
function wrap(native: NativeWriteFileIn): WriteFileIn {
  return async write => {
    const ms = write.mtime?.getTime();
    if (ms !== undefined && !Number.isFinite(ms))
      throw new TypeError(`invalid mtime for ${write.path}`);
    const sec = ms === undefined ? 0 : Math.floor(ms / 1000);
    const nsec = ms === undefined ? -1 : Math.round((ms - sec * 1000) * 1e6);
    try {
      await native(
        write.dirFd,
        write.tempName,
        write.finalName,
        write.expectedDir,
        write.chunks,
        write.mode ?? 0o644,
        write.mode !== undefined,
        write.uid ?? -1,
        write.gid ?? -1,
        sec,
        nsec,
        write.fsync,
      );
    } catch (error) {
      const failure = error as NativeFailure;
      if (failure.moved === 'before' || failure.moved === 'after')
        throw new DirectoryMoved(failure.moved, failure.real ?? '');
      if (typeof failure.errno === 'number' && failure.syscall)
        throw systemError(failure.errno, failure.syscall, write.path);
      throw error;
    }
  };
}

/** The addon's writer (default: the addon beside the bundle), or why the job goes without it. */
export function loadSmallFileWriter(
  file?: string,
):
  | { writeFileIn: WriteFileIn; problem?: undefined }
  | { writeFileIn?: undefined; problem: string } {
  if (process.platform !== 'linux') return { problem: 'not on Linux' };
  const loaded = loadNativeAddon(file);
  if (!loaded.exports) return { problem: loaded.problem };
  const native = loaded.exports.writeFileIn;
  if (typeof native !== 'function')
    return { problem: 'the addon has no writeFileIn' };
  return { writeFileIn: wrap(native as NativeWriteFileIn) };
}
