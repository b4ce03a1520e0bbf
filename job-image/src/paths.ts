/**
 * Where keys and archive entries land in the volume, and proof that they stay inside it.
 *
 * Two layers:
 * - pure: `normalizeEntryPath` (no `..`, no absolute paths, no NUL, no over-long names) and
 *   `PathRegistry` (two entries on one path, a file where a directory must go);
 * - on disk: `SafeRoot.resolveBeneath` resolves a path component by component, following symlinks
 *   itself, and refuses any resolution that leaves the root (like openat2's RESOLVE_BENEATH).
 */
import {
  closeSync,
  constants as fsConstants,
  openSync,
  promises as fsp,
  readlinkSync,
} from 'node:fs';
import path from 'node:path';
import { MANIFEST_DIR } from '@kube-restore/common';
import { RestoreError } from './errors';

const NAME_MAX = 255;
/** Linux's PATH_MAX, counting the terminating NUL: a relative path in the volume is shorter still. */
export const PATH_MAX = 4096;
const MAX_SYMLINK_HOPS = 40;
/** Directories a SafeRoot remembers at most; past that it forgets them all and looks again. */
const DIR_CACHE_MAX = 8192;
export const LOST_AND_FOUND = 'lost+found';
/** Temporary files are named `.kr-tmp-<random>` in the directory of their final name. */
export const TEMP_PREFIX = '.kr-tmp-';

/** The volume root files are confined to (SafeRoot.open sets it: one volume per process). */
let confinedRoot: string | undefined;

const utf8Length = (s: string) => Buffer.byteLength(s, 'utf8');

export type NormalizedPath =
  | { kind: 'file'; path: string }
  | { kind: 'dir'; path: string }
  | { kind: 'skip'; reason: string };

/**
 * A key (below the prefix) or an archive entry name as a relative POSIX path inside the volume.
 * Throws UNSAFE_PATH for what could escape or cannot be represented; `dir` for names ending in `/`
 * (S3 "folder" markers, tar directory entries). The root itself (`''`, `./`) is a `dir` with path ''.
 */
export function normalizeEntryPath(
  name: string,
  entry: string = name,
): NormalizedPath {
  if (name.includes('\0')) throw unsafe(entry, 'contains a NUL byte');
  if (name.startsWith('/')) throw unsafe(entry, 'is an absolute path');
  const isDir = name.endsWith('/');
  const segments: string[] = [];
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') throw unsafe(entry, 'contains a ".." segment');
    if (utf8Length(segment) > NAME_MAX)
      throw unsafe(entry, `has a name longer than ${NAME_MAX} bytes`);
    segments.push(segment);
  }
  const rel = segments.join('/');
  if (utf8Length(rel) > PATH_MAX - 1)
    throw unsafe(entry, `has a path longer than ${PATH_MAX - 1} bytes`);
  if (segments[0] === MANIFEST_DIR)
    throw unsafe(entry, `would overwrite kube-restore's own ${MANIFEST_DIR}/`);
  if (segments[0] === LOST_AND_FOUND)
    return { kind: 'skip', reason: `${LOST_AND_FOUND} is left alone` };
  if (
    segments.length > 0 &&
    segments[segments.length - 1].startsWith(TEMP_PREFIX)
  ) {
    throw unsafe(
      entry,
      `uses the reserved temporary-name prefix ${TEMP_PREFIX}`,
    );
  }
  return isDir || rel === ''
    ? { kind: 'dir', path: rel }
    : { kind: 'file', path: rel };
}

/**
 * The relative path below the prefix with `stripPrefix` removed; undefined when the name is not
 * under `stripPrefix` (such entries are not restored, as `tar --strip-components` drops them).
 */
export function applyStripPrefix(
  relative: string,
  stripPrefix: string | undefined,
): string | undefined {
  if (!stripPrefix) return relative;
  const strip = stripPrefix.replace(/^\.\//, '');
  const name = relative.replace(/^\.\//, '');
  if (strip.endsWith('/'))
    return name.startsWith(strip) ? name.slice(strip.length) : undefined;
  if (name === strip) return '';
  return name.startsWith(`${strip}/`)
    ? name.slice(strip.length + 1)
    : undefined;
}

export function unsafe(entry: string, why: string): RestoreError {
  return new RestoreError('UNSAFE_PATH', `refused "${entry}": it ${why}`, {
    entry,
  });
}

export function conflict(entry: string, why: string): RestoreError {
  return new RestoreError('PATH_CONFLICT', `refused "${entry}": ${why}`, {
    entry,
  });
}

/**
 * Claims of files and directories in one restore, to find two entries that land on one path and a
 * file where a directory must go before anything is written. Memory: one string per path (an
 * archive's extraction moves to disk past a limit, spillingPaths.ts; the objects source, whose
 * listings are sorted, uses pathClaims.ts).
 */
export class PathRegistry {
  private readonly files = new Map<string, string>();
  /** Directories, each with the entry that made it one (claimed it, or a path below it). */
  private readonly dirs = new Map<string, string>([['', '']]);
  private readonly foldCase: boolean;

  /** `foldCase`: the volume is case-insensitive, so `A` and `a` are one path. */
  constructor(options: { foldCase?: boolean } = {}) {
    this.foldCase = options.foldCase ?? false;
  }

  private key(rel: string): string {
    return this.foldCase ? rel.toLowerCase() : rel;
  }

  /** Claims `rel` for a file from `entry`; throws PATH_CONFLICT. */
  claimFile(relName: string, entry: string): void {
    const rel = this.key(relName);
    const other = this.files.get(rel);
    if (other !== undefined)
      throw conflict(entry, `"${other}" lands on the same path "${rel}"`);
    if (this.dirs.has(rel))
      throw conflict(entry, `"${rel}" must be a directory for other entries`);
    this.claimParents(rel, entry);
    this.files.set(rel, entry);
  }

  /** Claims `rel` as a directory (tar directory entries, S3 folder markers). */
  claimDir(relName: string, entry: string): void {
    const rel = this.key(relName);
    if (this.dirs.has(rel)) return;
    const other = this.files.get(rel);
    if (other !== undefined)
      throw conflict(entry, `"${other}" is a file where a directory must go`);
    this.claimParents(rel, entry);
    this.dirs.set(rel, entry);
  }

  hasFile(rel: string): boolean {
    return this.files.has(this.key(rel));
  }

  /** Files and directories held (the root not counted). */
  get size(): number {
    return this.files.size + this.dirs.size - 1;
  }

  /**
   * Every claim held, as pathClaims.ts stores them: `p` for a file, `p/` for a directory (folded),
   * with its entry.
   */
  *claims(): Generator<[claim: string, entry: string]> {
    yield* this.files;
    for (const [dir, entry] of this.dirs)
      if (dir !== '') yield [`${dir}/`, entry];
  }

  private claimParents(rel: string, entry: string): void {
    let dir = parentOf(rel);
    while (!this.dirs.has(dir)) {
      const other = this.files.get(dir);
      if (other !== undefined)
        throw conflict(entry, `"${other}" is a file where a directory must go`);
      this.dirs.set(dir, entry);
      dir = parentOf(dir);
    }
  }
}

export function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

export function baseOf(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException)?.code === code;
}

/**
 * The volume's root, with every operation that names a path inside it. Only directories created or
 * checked by this object are cached; nothing else writes to the volume while a restore runs.
 */
export class SafeRoot {
  private readonly dirCache = new Map<string, string>();
  /** Directories this SafeRoot made (mkdir succeeded) since it was opened or last forgot. */
  private readonly created = new Set<string>();
  /**
   * Directories being made now: the many downloads that start at once in a new directory share one
   * mkdir, instead of each failing with EEXIST (an exception and an lstat each) but the first.
   */
  private readonly dirsUnderWay = new Map<string, Promise<string>>();
  /** Counts forget()s: a mkdir under way across one neither shares nor caches its result. */
  private generation = 0;
  /** A directory was reached through a symlink: a made one may have a second name. */
  private aliased = false;
  private readonly dirMode: number | undefined;
  /**
   * The volume folds letter case (set once it is probed): `A` and `a` are one file, so a directory
   * this root made may hold a name it did not write under that spelling.
   */
  caseInsensitive = false;
  /** Symlinks an extraction checked and will make last (relative path -> target). */
  private readonly pendingLinks = new Map<string, string>();

  private constructor(
    readonly real: string,
    options: { dirMode?: number },
  ) {
    this.dirMode = options.dirMode;
    this.dirCache.set('', real);
  }

  static async open(
    target: string,
    options: { dirMode?: number } = {},
  ): Promise<SafeRoot> {
    const real = await fsp.realpath(target);
    const st = await fsp.stat(real);
    if (!st.isDirectory())
      throw new RestoreError(
        'INTERNAL',
        `the target ${target} is not a directory`,
      );
    confinedRoot = real;
    return new SafeRoot(real, options);
  }

  /**
   * Resolves `rel` beneath the root: symlinks are followed by hand (the last component only when
   * `followLast`), `..` may not climb above the root, and an existing non-directory in the middle
   * of the path is a PATH_CONFLICT. Components that do not exist are taken as they are named.
   * Returns the absolute path (real for every existing component).
   */
  async resolveBeneath(
    rel: string,
    entry: string,
    options: { followLast?: boolean } = {},
  ): Promise<string> {
    const stack: string[] = [];
    let pending = rel.split('/').filter(s => s !== '' && s !== '.');
    let hops = 0;
    let missing = false;
    while (pending.length > 0) {
      const segment = pending.shift()!;
      if (segment === '..') {
        if (stack.length === 0)
          throw unsafe(entry, 'resolves outside the volume');
        stack.pop();
        continue;
      }
      const isLast = pending.length === 0;
      if (missing) {
        stack.push(segment);
        continue;
      }
      const candidate = path.join(this.real, ...stack, segment);
      let st;
      let pendingTarget: string | undefined;
      try {
        st = await fsp.lstat(candidate);
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw error;
        // A link the extraction will make last resolves as if it were there already.
        pendingTarget = this.pendingLinks.get([...stack, segment].join('/'));
        if (pendingTarget === undefined) {
          missing = true;
          stack.push(segment);
          continue;
        }
      }
      if (
        (pendingTarget !== undefined || st!.isSymbolicLink()) &&
        (!isLast || options.followLast)
      ) {
        if (++hops > MAX_SYMLINK_HOPS)
          throw unsafe(entry, 'passes through too many symlinks');
        const target = pendingTarget ?? (await fsp.readlink(candidate));
        if (path.isAbsolute(target))
          throw unsafe(
            entry,
            `passes through a symlink to an absolute path (${target})`,
          );
        pending = [
          ...target.split('/').filter(s => s !== '' && s !== '.'),
          ...pending,
        ];
        continue;
      }
      if (!isLast && (pendingTarget !== undefined || !st!.isDirectory())) {
        throw conflict(
          entry,
          `"${[...stack, segment].join('/')}" is not a directory`,
        );
      }
      stack.push(segment);
    }
    return path.join(this.real, ...stack);
  }

  /** Makes sure directory `rel` exists beneath the root; returns its absolute path. */
  async ensureDir(rel: string, entry: string): Promise<string> {
    const cached = this.dirCache.get(rel);
    if (cached !== undefined) return cached;
    const underWay = this.dirsUnderWay.get(rel);
    if (underWay) {
      const shared = await underWay.catch(() => undefined);
      if (shared !== undefined) return shared;
      // It failed: this entry finds out for itself, so that the error names this entry.
      return this.makeDir(rel, entry);
    }
    const making = this.makeDir(rel, entry);
    this.dirsUnderWay.set(rel, making);
    try {
      return await making;
    } finally {
      if (this.dirsUnderWay.get(rel) === making) this.dirsUnderWay.delete(rel);
    }
  }

  private async makeDir(rel: string, entry: string): Promise<string> {
    const generation = this.generation;
    const parentAbs = await this.ensureDir(parentOf(rel), entry);
    const name = baseOf(rel);
    let abs = path.join(parentAbs, name);
    try {
      await fsp.mkdir(abs, { mode: this.dirMode ?? 0o755 });
      await this.checkMadeInside(abs, entry);
      if (this.dirMode !== undefined) await fsp.chmod(abs, this.dirMode);
      if (generation === this.generation) this.created.add(rel);
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
      const st = await fsp.lstat(abs);
      if (st.isSymbolicLink()) {
        this.aliased = true;
        abs = await this.resolveBeneath(rel, entry, { followLast: true });
        const target = await fsp.stat(abs).catch(() => undefined);
        if (!target?.isDirectory())
          throw conflict(entry, `"${rel}" is a symlink, not a directory`);
      } else if (!st.isDirectory()) {
        throw conflict(entry, `"${rel}" exists and is not a directory`);
      }
    }
    if (this.dirCache.size >= DIR_CACHE_MAX) {
      // Memory stays bounded in a tree of millions of directories; forgetting only costs lookups.
      this.dirCache.clear();
      this.dirCache.set('', this.real);
      this.created.clear();
    }
    if (generation === this.generation) this.dirCache.set(rel, abs);
    return abs;
  }

  /**
   * A directory just made is inside the volume (checked on its descriptor); else it is removed.
   * The open, the check and the close are synchronous: the lookup of a directory just made and two
   * calls that touch no disk cost the main thread less than two trips through the pool.
   */
  private async checkMadeInside(abs: string, entry: string): Promise<void> {
    const fd = openSync(
      abs,
      fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW,
    );
    try {
      assertOpenedInside(fd, entry);
    } catch (error) {
      await fsp.rmdir(abs).catch(() => undefined);
      throw error;
    } finally {
      closeSync(fd);
    }
  }

  /** Absolute path for a file `rel` (its directory is created); the final component is not followed. */
  async filePath(rel: string, entry: string): Promise<string> {
    const dir = await this.ensureDir(parentOf(rel), entry);
    return path.join(dir, baseOf(rel));
  }

  /** Checks a symlink's target: relative, and resolving beneath the root from the link's directory. */
  async checkSymlinkTarget(
    rel: string,
    target: string,
    entry: string,
  ): Promise<void> {
    if (target.includes('\0'))
      throw unsafe(entry, 'has a link target with a NUL byte');
    if (path.isAbsolute(target))
      throw unsafe(entry, `is a symlink to an absolute path (${target})`);
    const joined = [parentOf(rel), target].filter(Boolean).join('/');
    await this.resolveBeneath(joined, entry, { followLast: true });
  }

  /**
   * True when directory `rel` was made by this SafeRoot (since it was opened or last forgot) and no
   * directory was reached through a symlink since: it holds only what was written to it under
   * this name.
   */
  madeHere(rel: string): boolean {
    return !this.aliased && !this.caseInsensitive && this.created.has(rel);
  }

  /** Resolves `rel` as a link to `target` until `clearPendingLinks` (it is made later). */
  addPendingLink(rel: string, target: string): void {
    this.pendingLinks.set(rel, target);
  }

  clearPendingLinks(): void {
    this.pendingLinks.clear();
  }

  /**
   * Forgets cached directories (after something replaced part of the tree), the mkdirs under way
   * included: what they find is neither shared with later callers nor cached.
   */
  forget(): void {
    this.generation++;
    this.pendingLinks.clear();
    this.dirsUnderWay.clear();
    this.dirCache.clear();
    this.created.clear();
    this.aliased = false;
    this.dirCache.set('', this.real);
  }
}

/** True when the directory is empty apart from lost+found and the names in `ignore`. */
export async function isEffectivelyEmpty(
  dir: string,
  ignore: string[] = [],
): Promise<{ empty: boolean; first?: string }> {
  const names = await fsp.readdir(dir);
  const first = names.find(n => n !== LOST_AND_FOUND && !ignore.includes(n));
  return { empty: first === undefined, first };
}

/** The volume root files are confined to, once SafeRoot.open set it (dirOps.ts checks against it). */
export function confinedRootPath(): string | undefined {
  return confinedRoot;
}

/**
 * Checks on the opened descriptor that a file just created (a temporary) is inside the volume: the
 * path it was opened by was resolved beneath the root earlier, and a concurrent writer may have
 * swapped a directory of it for a link since. Reads /proc/self/fd (skipped where it is missing).
 * Throws UNSAFE_PATH; the caller removes what it created.
 */
export function assertOpenedInside(fd: number, entry: string): void {
  if (confinedRoot === undefined) return;
  let real: string;
  try {
    real = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return;
  }
  if (real !== confinedRoot && !real.startsWith(`${confinedRoot}/`))
    throw unsafe(
      entry,
      'was redirected outside the volume (a directory of its path was replaced by a link while it was written)',
    );
}

/** Node's open flags for a fresh temporary file that never follows a symlink. */
export const TEMP_OPEN_FLAGS =
  fsConstants.O_WRONLY |
  fsConstants.O_CREAT |
  fsConstants.O_EXCL |
  fsConstants.O_NOFOLLOW;
