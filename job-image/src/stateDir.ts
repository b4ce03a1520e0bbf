/**
 * `.kube-restore/`, kube-restore's own directory in the volume, reached only through a descriptor
 * opened with O_DIRECTORY | O_NOFOLLOW and then by `/proc/self/fd/<fd>/<name>` (openat's semantics:
 * a concurrent writer that swaps the directory for a link does not redirect anything); every file
 * in it is opened with O_NOFOLLOW, written through a temporary checked by device and inode, and
 * published by a hard link or, where there are none, an exclusive copy. What the files mean (the
 * claim, the finished markers, the record of what the volume held) is volume.ts's.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fsp, Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { MANIFEST_DIR } from '@kube-restore/common';
import { unsafe } from './paths';

const {
  O_RDONLY,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_WRONLY,
  O_CREAT,
  O_EXCL,
} = fsConstants;

export function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException)?.code;
}

/** `.kube-restore/` as an open directory: names inside it never pass through a link. */
export class StateDir implements CaseProbeDir {
  private constructor(
    /** The directory's real path (for messages and for where /proc is missing). */
    readonly real: string,
    private readonly handle: FileHandle,
    private readonly viaProc: boolean,
    /** `open` made the directory (a refused restore takes it away again). */
    private readonly made: boolean,
  ) {}

  /**
   * The file each temporary was created as (device, inode): `publish` refuses a temporary that a
   * writer of the volume swapped for a link or another file while it was written.
   */
  private readonly temporaries = new Map<
    string,
    { dev: number; ino: number }
  >();

  /** Opens (making it if needed) `.kube-restore` under the volume root `rootReal`; refuses a link. */
  static async open(rootReal: string): Promise<StateDir> {
    const real = path.join(rootReal, MANIFEST_DIR);
    const made = await fsp.mkdir(real, { mode: 0o755 }).then(
      () => true,
      error => {
        if (errno(error) !== 'EEXIST') throw error;
        return false;
      },
    );
    let handle: FileHandle;
    try {
      handle = await fsp.open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (error) {
      if (errno(error) === 'ELOOP' || errno(error) === 'ENOTDIR')
        throw unsafe(
          MANIFEST_DIR,
          'is a link or not a directory; kube-restore does not follow links in its own directory',
        );
      throw error;
    }
    const viaProc = await fsp
      .stat(`/proc/self/fd/${handle.fd}`)
      .then(st => st.isDirectory())
      .catch(() => false);
    return new StateDir(real, handle, viaProc, made);
  }

  /** The path of `name` inside the directory, resolved through the open descriptor. */
  path(name: string): string {
    return this.viaProc
      ? `/proc/self/fd/${this.handle.fd}/${name}`
      : path.join(this.real, name);
  }

  /** Opens `name` for reading without following a link; undefined when it does not exist. */
  async read(name: string): Promise<string | undefined> {
    let fh: FileHandle;
    try {
      // O_NONBLOCK: a FIFO planted at the name does not hang the open (a regular file ignores it)
      fh = await fsp.open(this.path(name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (error) {
      if (errno(error) === 'ENOENT') return undefined;
      if (errno(error) === 'ELOOP')
        throw unsafe(`${MANIFEST_DIR}/${name}`, 'is a link');
      throw error;
    }
    try {
      if (!(await fh.stat()).isFile())
        throw unsafe(`${MANIFEST_DIR}/${name}`, 'is not a regular file');
      return await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  }

  /**
   * Writes a fresh temporary in the directory (O_EXCL | O_NOFOLLOW, fsync'd) from a string or a
   * stream of strings; returns its name.
   */
  async temporary(text: string | AsyncIterable<string>): Promise<string> {
    const name = `.tmp-${randomBytes(6).toString('hex')}`;
    const fh = await fsp.open(
      this.path(name),
      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
      0o644,
    );
    try {
      const { dev, ino } = await fh.stat();
      this.temporaries.set(name, { dev, ino });
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return name;
  }

  /** Throws unless `st` is the file `temporary` created as `tmp`. */
  private checkTemporary(tmp: string, st: Stats | undefined): void {
    const made = this.temporaries.get(tmp);
    if (!made || !st?.isFile() || st.dev !== made.dev || st.ino !== made.ino)
      throw unsafe(
        `${MANIFEST_DIR}/${tmp}`,
        "was replaced while kube-restore wrote it; something else writes in kube-restore's directory",
      );
  }

  /** Writes `name` atomically (a temporary renamed over it: a link at `name` is replaced, not followed). */
  async write(name: string, text: string): Promise<void> {
    const tmp = await this.temporary(text);
    try {
      await fsp.rename(this.path(tmp), this.path(name));
      this.temporaries.delete(tmp);
    } catch (error) {
      await this.remove(tmp);
      throw error;
    }
  }

  /** Creates `name` only if nothing has that name; false when something does. */
  async create(name: string, text: string): Promise<boolean> {
    const tmp = await this.temporary(text);
    try {
      return await this.publish(tmp, name);
    } finally {
      await this.remove(tmp);
    }
  }

  /**
   * Gives the temporary `tmp` the name `name` too, only if nothing has that name (false when
   * something does); refuses a temporary that is no longer the file `temporary` wrote. The caller
   * removes `tmp`.
   */
  async publish(tmp: string, name: string): Promise<boolean> {
    try {
      // link(2) does not follow a link at `tmp`: what got the name is checked after.
      await fsp.link(this.path(tmp), this.path(name));
    } catch (error) {
      if (errno(error) === 'EEXIST') return false;
      if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV'].includes(errno(error)!))
        throw error;
      return this.publishCopy(tmp, name);
    }
    try {
      this.checkTemporary(tmp, await this.lstat(name));
    } catch (error) {
      await this.remove(name);
      throw error;
    }
    return true;
  }

  /**
   * `publish` on a file system without hard links: a copy read from the temporary opened without
   * following a link and checked to be the file `temporary` wrote (never reopened by path after
   * the check), written to `name` created exclusively (a link at `name` exists: not followed).
   */
  private async publishCopy(tmp: string, name: string): Promise<boolean> {
    let from: FileHandle;
    try {
      // O_NONBLOCK: a FIFO swapped in does not hang the open; checkTemporary refuses it
      from = await fsp.open(this.path(tmp), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (error) {
      if (errno(error) !== 'ELOOP') throw error;
      this.checkTemporary(tmp, undefined);
      throw error;
    }
    try {
      this.checkTemporary(tmp, await from.stat());
      let to: FileHandle;
      try {
        to = await fsp.open(
          this.path(name),
          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
          0o644,
        );
      } catch (error) {
        if (errno(error) === 'EEXIST') return false;
        throw error;
      }
      try {
        const buffer = Buffer.alloc(64 * 1024);
        let position = 0;
        for (;;) {
          const { bytesRead } = await from.read(
            buffer,
            0,
            buffer.length,
            position,
          );
          if (bytesRead === 0) break;
          // a write may take fewer bytes than asked (FUSE, SMB): the rest goes in the next one
          for (let done = 0; done < bytesRead;) {
            const { bytesWritten } = await to.write(
              buffer,
              done,
              bytesRead - done,
              position + done,
            );
            if (bytesWritten === 0)
              throw new Error(`${MANIFEST_DIR}/${name}: a write took no bytes`);
            done += bytesWritten;
          }
          position += bytesRead;
        }
        await to.sync();
      } catch (error) {
        await to.close().catch(() => undefined);
        await this.remove(name);
        throw error;
      }
      await to.close();
      return true;
    } finally {
      await from.close();
    }
  }

  async touch(name: string): Promise<void> {
    const fh = await fsp.open(
      this.path(name),
      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
      0o644,
    );
    await fh.close();
  }

  async exists(name: string): Promise<boolean> {
    return (await this.lstat(name)) !== undefined;
  }

  async remove(name: string): Promise<void> {
    this.temporaries.delete(name);
    await fsp.rm(this.path(name), { force: true }).catch(() => undefined);
  }

  /** lstat of `name`, undefined when missing. */
  async lstat(name: string): Promise<Stats | undefined> {
    return fsp.lstat(this.path(name)).catch(error => {
      if (errno(error) === 'ENOENT') return undefined;
      throw error;
    });
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }

  /** Removes the directory if `open` made it and it is still empty (a refused restore leaves nothing). */
  async removeIfUnused(): Promise<void> {
    if (this.made) await fsp.rmdir(this.real).catch(() => undefined);
  }
}

/** What probing a directory's letter case needs: StateDir, or a fake in tests. */
export interface CaseProbeDir {
  /** Creates an empty file `name` (exclusively). */
  touch(name: string): Promise<void>;
  exists(name: string): Promise<boolean>;
  remove(name: string): Promise<void>;
}

/**
 * True when the directory's file system folds letter case (a file made as `...-a` is found as
 * `...-A`): then `A` and `a` in one restore are one path (PATH_CONFLICT), not a silent replacement.
 */
export async function isCaseInsensitive(dir: CaseProbeDir): Promise<boolean> {
  const name = `.case-probe-${randomBytes(4).toString('hex')}-a`;
  await dir.touch(name);
  try {
    return await dir.exists(name.toUpperCase());
  } finally {
    await dir.remove(name);
  }
}
