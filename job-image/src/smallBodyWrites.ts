/**
 * A complete, verified small body (writeFileAtomically's SMALL_FILE_BYTES) made into its file at
 * once, three ways: in one synchronous go on the main thread (writeSmallSync), in one go after its
 * temporary was made through the thread pool (writeSmallCreatedAhead: where creates are slow-ish),
 * or in one trip through the pool by the native addon (writeSmallInOneTrip). Each makes, fills
 * and renames the temporary inside the final directory as held (dirOps.ts); smallWrites.ts says
 * which one a restore's objects take.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  closeQuietly,
  renameInDirectorySync,
  unlinkQuietly,
  writeNewFileAsync,
  writeNewFileSync,
} from './dirOps';
import { assertOpenedInside, TEMP_OPEN_FLAGS } from './paths';
import type { WriteFileIn } from './smallFileWriter';
import {
  FileAttributes,
  temporaryNameIn,
  trackTemporary,
  untrackTemporary,
} from './temporaries';

/** What a small body's file gets: its attributes, and the tag in its temporary's name. */
export interface SmallBodyOptions extends FileAttributes {
  tempTag?: string;
}

/** Writes `chunks` from the start of the open file `fd`, then its attributes (and syncs it). */
function fillSync(
  fd: number,
  chunks: Buffer[],
  options: SmallBodyOptions,
  fsync: boolean,
): void {
  let position = 0;
  for (const chunk of chunks) {
    for (let done = 0; done < chunk.length;) {
      const n = fs.writeSync(fd, chunk, done, chunk.length - done, position);
      done += n;
      position += n;
    }
  }
  if (options.mode !== undefined) fs.fchmodSync(fd, options.mode);
  if (options.uid !== undefined || options.gid !== undefined)
    fs.fchownSync(fd, options.uid ?? -1, options.gid ?? -1);
  if (options.mtime) fs.futimesSync(fd, options.mtime, options.mtime);
  if (fsync) fs.fdatasyncSync(fd);
}

export function writeSmallSync(
  finalPath: string,
  chunks: Buffer[],
  options: SmallBodyOptions,
  fsync: boolean,
): void {
  const dir = path.dirname(finalPath);
  const fill = (fd: number) => fillSync(fd, chunks, options, fsync);
  /**
   * Creates a temporary at a fresh name through `at`, writes it whole and closes it; `byPath`: the
   * opened file is checked to be inside the volume (a directory of its path may have been swapped).
   */
  const create = (at: (name: string) => string, byPath = false): string => {
    let tmp = '';
    let fd: number | undefined;
    for (let attempt = 0; fd === undefined; attempt++) {
      tmp = path.basename(temporaryNameIn(dir, options.tempTag));
      try {
        fd = fs.openSync(at(tmp), TEMP_OPEN_FLAGS, options.mode ?? 0o644);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 5)
          throw error;
      }
    }
    try {
      if (byPath) assertOpenedInside(fd, finalPath);
      fill(fd);
      const closing = fd;
      fd = undefined;
      fs.closeSync(closing);
      return tmp;
    } catch (error) {
      if (fd !== undefined) closeQuietly(fd);
      unlinkQuietly(at(tmp));
      throw error;
    }
  };
  // Below the volume root: made, written and renamed in the directory as held (dirOps.ts).
  if (writeNewFileSync(finalPath, finalPath, create)) return;
  // Elsewhere (or without /proc): by path.
  const tmp = path.join(
    dir,
    create(name => path.join(dir, name), true),
  );
  try {
    renameInDirectorySync(tmp, finalPath);
  } catch (error) {
    unlinkQuietly(tmp);
    throw error;
  }
}

/** A fresh temporary file for `finalPath`, made through the thread pool and checked inside the volume. */
async function openTemporary(
  finalPath: string,
  mode: number,
  tag: string | undefined,
): Promise<{ path: string; fd: number }> {
  const dir = path.dirname(finalPath);
  for (let attempt = 0; ; attempt++) {
    const tmp = temporaryNameIn(dir, tag);
    let fd: number;
    try {
      // fs.open, not fsp.open: the descriptor is then used and closed with synchronous calls,
      // which a FileHandle would close once more when collected.
      fd = await new Promise<number>((resolve, reject) =>
        fs.open(tmp, TEMP_OPEN_FLAGS, mode, (error, opened) =>
          error ? reject(error) : resolve(opened),
        ),
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 5)
        throw error;
      continue;
    }
    try {
      assertOpenedInside(fd, finalPath);
    } catch (error) {
      closeQuietly(fd);
      unlinkQuietly(tmp);
      throw error;
    }
    return { path: tmp, fd };
  }
}

/**
 * writeSmallSync with the temporary made first through the thread pool (SmallWritePolicy: where
 * creates are slow, those of many files then overlap); the rest in one synchronous go: write,
 * attributes, close, and the rename inside the final directory as held (writeNewFileSync's, with
 * the directories it holds; renameInDirectorySync where it does not hold one), which refuses a
 * directory swapped meanwhile. The temporary is one of liveTemporaryFiles() from its create's
 * return to its rename or removal.
 */
export async function writeSmallCreatedAhead(
  finalPath: string,
  chunks: Buffer[],
  options: SmallBodyOptions,
  fsync: boolean,
  took: (ms: number) => void,
): Promise<void> {
  const temp = await openTemporary(
    finalPath,
    options.mode ?? 0o644,
    options.tempTag,
  );
  trackTemporary(temp.path);
  const started = performance.now();
  try {
    try {
      fillSync(temp.fd, chunks, options, fsync);
    } finally {
      fs.closeSync(temp.fd);
    }
    // Made already: the held directory's step only renames it (a temporary made in a directory
    // swapped since is not in the one held, and the rename fails).
    const name = path.basename(temp.path);
    if (!writeNewFileSync(finalPath, finalPath, () => name))
      renameInDirectorySync(temp.path, finalPath);
  } catch (error) {
    unlinkQuietly(temp.path);
    throw error;
  } finally {
    untrackTemporary(temp.path);
    took(performance.now() - started);
  }
}

/**
 * Writes a complete small body with `writeFileIn` (smallFileWriter.ts): in one trip through the
 * thread pool, inside the final directory as held (writeNewFileAsync). The temporary is one of
 * liveTemporaryFiles() while the trip is under way. False, having done nothing, where the final
 * directory is not held (outside the volume root).
 */
export function writeSmallInOneTrip(
  writeFileIn: WriteFileIn,
  finalPath: string,
  chunks: Buffer[],
  options: SmallBodyOptions,
  fsync: boolean,
): Promise<boolean> {
  const dir = path.dirname(finalPath);
  return writeNewFileAsync(finalPath, finalPath, async (dirFd, expected) => {
    for (let attempt = 0; ; attempt++) {
      const temp = temporaryNameIn(dir, options.tempTag);
      trackTemporary(temp);
      try {
        await writeFileIn({
          dirFd,
          expectedDir: expected,
          tempName: path.basename(temp),
          finalName: path.basename(finalPath),
          chunks,
          mode: options.mode,
          uid: options.uid,
          gid: options.gid,
          mtime: options.mtime,
          fsync,
          path: finalPath,
        });
        return;
      } catch (error) {
        const { code, syscall } = error as NodeJS.ErrnoException;
        if (code !== 'EEXIST' || syscall !== 'open' || attempt > 5) throw error;
      } finally {
        untrackTemporary(temp);
      }
    }
  });
}
