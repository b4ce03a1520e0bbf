/**
 * The last step of every write under the volume (a file's rename over its final name, a link's
 * creation and rename) done inside a directory held by its descriptor, not by path: Node has no
 * renameat/symlinkat, but on Linux `/proc/self/fd/N/name` reaches the directory that descriptor N
 * holds without walking its path again. The directory is opened (O_DIRECTORY|O_NOFOLLOW) right
 * before the step and must be the very directory that was resolved beneath the root (its real path,
 * read from /proc/self/fd); a concurrent writer that swapped a directory of the path for a link
 * before that makes the step fail with UNSAFE_PATH, and a swap after it cannot move the step: it
 * happens in the directory held. After the step, a directory moved meanwhile is reported as well.
 * Where /proc is not mounted, the step is done by path (the checks on each descriptor in paths.ts
 * still hold).
 */
import fs, {
  constants as fsConstants,
  existsSync,
  promises as fsp,
} from 'node:fs';
import path from 'node:path';
import { confinedRootPath, PATH_MAX, unsafe } from './paths';
import { DirectoryMoved } from './smallFileWriter';

const DIR_FLAGS =
  fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW;
const PROC_FD = '/proc/self/fd';
const byDescriptor = existsSync(PROC_FD);

type Hook = (finalPath: string) => void;
let beforeStep: Hook | undefined;

/**
 * Test seam: runs (synchronously) before each final step, after the data is written, e.g. to swap
 * a directory of the path for a link.
 */
export function setBeforeFinalStepHook(hook: Hook | undefined): void {
  beforeStep = hook;
}

/** The real path of what descriptor `fd` holds, or undefined when /proc cannot say. */
async function realOf(fd: number): Promise<string | undefined> {
  return fsp.readlink(`${PROC_FD}/${fd}`).catch(() => undefined);
}

/** O_DIRECTORY|O_NOFOLLOW on what is no longer a directory: ELOOP, or ENOTDIR on Linux. */
const isReplaced = (error: unknown) =>
  ['ELOOP', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '');

function redirected(entry: string, why: string) {
  return unsafe(
    entry,
    `was redirected: ${why} (a directory of its path was replaced while it was written)`,
  );
}

/**
 * What to throw when opening the directory `expected` (DIR_FLAGS) failed with `error`: UNSAFE_PATH
 * when it is no longer a directory, else the error itself.
 */
function openFailure(error: unknown, expected: string, entry: string): unknown {
  if (isReplaced(error))
    return redirected(
      entry,
      `"${expected}" is no longer a directory (a symlink?)`,
    );
  return error;
}

/**
 * Runs `step` with the paths of `names` inside the directory `dir` (the final name's directory),
 * as held by a descriptor when /proc allows. Throws UNSAFE_PATH when the directory opened is not
 * `dir` as it was resolved (only checked below the volume root, where paths are real).
 */
export async function inDirectory<T>(
  dir: string,
  entry: string,
  step: (at: (name: string) => string) => Promise<T>,
  onMoved?: (at: (name: string) => string) => Promise<void>,
): Promise<T> {
  const expected = heldByDescriptor(dir);
  if (expected === undefined) return step(name => path.join(dir, name));
  const handle = await fsp.open(expected, DIR_FLAGS).catch(error => {
    throw openFailure(error, expected, entry);
  });
  try {
    const before = await realOf(handle.fd);
    if (before !== undefined && before !== expected)
      throw redirected(entry, `"${expected}" now leads to "${before}"`);
    const at = (name: string) => `${PROC_FD}/${handle.fd}/${name}`;
    const result = await step(at);
    const after = await realOf(handle.fd);
    if (after !== undefined && after !== expected) {
      await onMoved?.(at);
      throw redirected(entry, `its directory moved to "${after}"`);
    }
    return result;
  } finally {
    await handle.close();
  }
}

/**
 * A final name the file system could not reach by path is refused as the path-based call would
 * refuse it (ENAMETOOLONG, which the callers classify), although /proc/self/fd/N/name is short.
 */
function assertReachable(finalPath: string): void {
  if (Buffer.byteLength(finalPath) <= PATH_MAX - 1) return;
  throw Object.assign(
    new Error(`ENAMETOOLONG: name too long, rename '${finalPath}'`),
    { code: 'ENAMETOOLONG', path: finalPath },
  );
}

/** Whether `dir` is checked and used by descriptor (below the volume root, with /proc). */
function heldByDescriptor(dir: string): string | undefined {
  const root = confinedRootPath();
  const expected = path.resolve(dir);
  return byDescriptor &&
    root !== undefined &&
    (expected === root || expected.startsWith(`${root}/`))
    ? expected
    : undefined;
}

/**
 * Directories held open for files written in one go, one after another, into the same few
 * directories (writeNewFileSync, writeNewFileAsync): opening and closing the directory for every
 * file costs two system calls of about the price of the write itself. A held descriptor is checked
 * (its real path) before each rename as a freshly opened one is, so holding it changes nothing of
 * what is checked. Let go by releaseHeldDirectories (the end of a restore), when more than HELD_MAX
 * are held, or when its directory moved or went. One still in use by writes on the thread pool is
 * closed only after the last of them (`users`): closed earlier, its number could be reused by
 * another directory while a write still names it.
 */
interface Held {
  fd: number;
  /** Writes of writeNewFileAsync in flight in it. */
  users: number;
  /** No longer in `held`: closed when its last user is done. */
  dropped: boolean;
}
const held = new Map<string, Held>();
const HELD_MAX = 16;

function openDirectorySync(expected: string, entry: string): number {
  try {
    return fs.openSync(expected, DIR_FLAGS);
  } catch (error) {
    throw openFailure(error, expected, entry);
  }
}

/** Closes `fd`, ignoring a failure (it is closed already, or the caller is failing anyway). */
export function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    /* already closed */
  }
}

/** Lets `dir` go (if `expected` still holds it): closed now, or by its last user. */
function drop(
  expected: string,
  dir: Held | undefined = held.get(expected),
): void {
  if (dir === undefined || dir.dropped) return;
  if (held.get(expected) === dir) held.delete(expected);
  dir.dropped = true;
  if (dir.users === 0) closeQuietly(dir.fd);
}

/** Closes the directories writeNewFileSync and writeNewFileAsync hold (those in use, after it). */
export function releaseHeldDirectories(): void {
  for (const [expected, dir] of [...held]) drop(expected, dir);
}

/** `expected` held (opened now when it is not), as the most recently used. */
function hold(expected: string, entry: string): Held {
  let dir = held.get(expected);
  if (dir === undefined) {
    dir = { fd: openDirectorySync(expected, entry), users: 0, dropped: false };
    held.set(expected, dir);
    if (held.size > HELD_MAX) drop(held.keys().next().value!);
  } else {
    // least recently used first
    held.delete(expected);
    held.set(expected, dir);
  }
  return dir;
}

function realSync(fd: number): string | undefined {
  try {
    return fs.readlinkSync(`${PROC_FD}/${fd}`);
  } catch {
    return undefined;
  }
}

/**
 * Makes a new file at `finalPath` with synchronous calls, entirely inside its directory as held by
 * a descriptor: `create` makes and fills a temporary file through `at(name)` (so it is in the held
 * directory, whatever its path leads to meanwhile) and returns its name; the directory's real path
 * is checked, the temporary renamed over the final name there, and the real path checked again.
 * A held descriptor whose directory moved or went is let go and the file made once more in the
 * directory opened afresh, as a fresh open would have found it. Returns false, having done nothing,
 * where the step is done by path (heldByDescriptor); the caller then writes by path.
 */
export function writeNewFileSync(
  finalPath: string,
  entry: string,
  create: (at: (name: string) => string) => string,
): boolean {
  assertReachable(finalPath);
  const expected = heldByDescriptor(path.dirname(finalPath));
  if (expected === undefined) return false;
  for (let fresh = !held.has(expected); ; fresh = true) {
    const { fd } = hold(expected, entry);
    const at = (name: string) => `${PROC_FD}/${fd}/${name}`;
    let tmp: string;
    try {
      tmp = create(at);
    } catch (error) {
      // A held directory that went (removed, or its volume unmounted) fails the create: once more
      // in the directory opened afresh, which reports what is there now.
      drop(expected);
      if (!fresh) continue;
      throw error;
    }
    beforeStep?.(finalPath);
    const before = realSync(fd);
    if (before !== undefined && before !== expected) {
      unlinkQuietly(at(tmp));
      drop(expected);
      if (!fresh) continue;
      throw redirected(entry, `"${expected}" now leads to "${before}"`);
    }
    try {
      fs.renameSync(at(tmp), at(path.basename(finalPath)));
    } catch (error) {
      unlinkQuietly(at(tmp));
      throw error;
    }
    const after = realSync(fd);
    if (after !== undefined && after !== expected) {
      drop(expected);
      throw redirected(entry, `its directory moved to "${after}"`);
    }
    return true;
  }
}

/**
 * writeNewFileSync's steps done by `write` off the main thread (smallFileWriter.ts): it makes,
 * fills and renames the file inside the directory held (`dirFd`), checking its real path against
 * `expected` before and after the rename, and throws DirectoryMoved when it is not. The directory is
 * let go then, or when a held one failed the write (it went, or its volume was unmounted), and the
 * file is made once more in the directory opened afresh, as writeNewFileSync does. Returns false,
 * having done nothing, where the step is done by path (heldByDescriptor).
 */
export async function writeNewFileAsync(
  finalPath: string,
  entry: string,
  write: (dirFd: number, expected: string) => Promise<void>,
): Promise<boolean> {
  assertReachable(finalPath);
  const expected = heldByDescriptor(path.dirname(finalPath));
  if (expected === undefined) return false;
  for (let fresh = !held.has(expected); ; fresh = true) {
    const dir = hold(expected, entry);
    dir.users++;
    try {
      beforeStep?.(finalPath);
      await write(dir.fd, expected);
      return true;
    } catch (error) {
      if (error instanceof DirectoryMoved) {
        drop(expected, dir);
        if (error.when === 'after')
          throw redirected(entry, `its directory moved to "${error.real}"`);
        if (fresh)
          throw redirected(entry, `"${expected}" now leads to "${error.real}"`);
        continue;
      }
      // A failed rename is the rename's answer; before it, a held directory may have gone.
      if ((error as NodeJS.ErrnoException).syscall === 'rename' || fresh)
        throw error;
      drop(expected, dir);
    } finally {
      if (--dir.users === 0 && dir.dropped) closeQuietly(dir.fd);
    }
  }
}

/** Removes `name` if it is there (a temporary taken back). */
export function unlinkQuietly(name: string): void {
  try {
    fs.unlinkSync(name);
  } catch {
    /* not there */
  }
}

/** renameInDirectory with synchronous calls (for bodies written in one go). */
export function renameInDirectorySync(
  tmp: string,
  finalPath: string,
  entry: string = finalPath,
): void {
  assertReachable(finalPath);
  beforeStep?.(finalPath);
  const expected = heldByDescriptor(path.dirname(finalPath));
  if (expected === undefined) {
    fs.renameSync(tmp, finalPath);
    return;
  }
  const fd = openDirectorySync(expected, entry);
  try {
    const before = realSync(fd);
    if (before !== undefined && before !== expected)
      throw redirected(entry, `"${expected}" now leads to "${before}"`);
    fs.renameSync(
      `${PROC_FD}/${fd}/${path.basename(tmp)}`,
      `${PROC_FD}/${fd}/${path.basename(finalPath)}`,
    );
    const after = realSync(fd);
    if (after !== undefined && after !== expected)
      throw redirected(entry, `its directory moved to "${after}"`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Renames `tmp` over `finalPath` (both in one directory) inside that directory as held. */
export async function renameInDirectory(
  tmp: string,
  finalPath: string,
  entry: string = finalPath,
): Promise<void> {
  assertReachable(finalPath);
  beforeStep?.(finalPath);
  const dir = path.dirname(finalPath);
  await inDirectory(dir, entry, at =>
    fsp.rename(at(path.basename(tmp)), at(path.basename(finalPath))),
  );
}

/**
 * Creates something at the temporary name `tmp` with `create` and renames it over `finalPath`,
 * both inside the final name's directory as held; `after` then runs on the final name there (an
 * lchown). The temporary is removed when anything fails.
 */
export async function replaceInDirectory(
  tmp: string,
  finalPath: string,
  entry: string,
  create: (tmpAt: string) => Promise<void>,
  after?: (finalAt: string) => Promise<void>,
): Promise<void> {
  assertReachable(finalPath);
  beforeStep?.(finalPath);
  await inDirectory(
    path.dirname(finalPath),
    entry,
    async at => {
      const tmpAt = at(path.basename(tmp));
      const finalAt = at(path.basename(finalPath));
      await create(tmpAt);
      try {
        await fsp.rename(tmpAt, finalAt);
      } catch (error) {
        await fsp.rm(tmpAt, { force: true }).catch(() => undefined);
        throw error;
      }
      await after?.(finalAt);
    },
    // What was made in a directory that moved meanwhile is taken back: a relative link checked for
    // the path it was meant to have may lead elsewhere from where its directory went.
    at => fsp.rm(at(path.basename(finalPath)), { force: true }),
  );
}
