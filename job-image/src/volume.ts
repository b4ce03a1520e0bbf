/**
 * Whose volume is this, and what did it hold before the restore began?
 *
 * kube-restore's own directory, `.kube-restore/`, is reached only through a descriptor opened with
 * O_DIRECTORY | O_NOFOLLOW and then by `/proc/self/fd/<fd>/<name>` (openat's semantics: a concurrent
 * writer that swaps the directory for a link does not redirect anything); every file in it is opened
 * with O_NOFOLLOW. In it:
 * - `restore-id`: the claim. The restore that writes the volume (first line) and its shard count;
 *   created exclusively (link(2) of a finished temporary), its mtime is the heartbeat of the pods
 *   that hold it. A second restore is refused with TARGET_IN_USE while the claim is live: not every
 *   shard has written its `finished` marker and a heartbeat is younger than the stale limit.
 * - `finished` (`finished-<i>-of-<n>` when sharded): a pod that ended for good (Succeeded, or a
 *   fatal failure no retry can fix) writes the restore id there.
 * - `preexisting-<restore>`: the inode numbers of every non-directory the volume held before the
 *   restore's first attempt (skip-existing). Every attempt decides skip, fail or overwrite from this
 *   record, never from "this is a resume": a user's file skipped by attempt 1 stays untouched by
 *   attempt 2 (inodes, so a path through a link or in another letter case names the same file).
 *   Written and read as a stream, one number a line; held in memory up to a limit, then in an
 *   SQLite table in the scratch directory (spillSet.ts).
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, Dir, promises as fsp, Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ConflictPolicy, MANIFEST_DIR } from '@kube-restore/common';
import { RestoreError } from './errors';
import { LOST_AND_FOUND, unsafe } from './paths';
import { readLines } from './scratch';
import type { Shard } from './shard';
import { SpillSet, type SpillOptions } from './spillSet';

export const RESTORE_ID_NAME = 'restore-id';
/** A claim whose heartbeat is older than this (and is not finished) may be taken over. */
export const DEFAULT_CLAIM_STALE_MS = 15 * 60_000;
export const HEARTBEAT_MS = 30_000;

const {
  O_RDONLY,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_WRONLY,
  O_CREAT,
  O_EXCL,
} = fsConstants;

function errno(error: unknown): string | undefined {
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

export interface Claim {
  restore: string;
  shards: number;
  /** The heartbeat: the claim's mtime. */
  heartbeatMs: number;
}

export async function readClaim(state: StateDir): Promise<Claim | undefined> {
  const [text, st] = await Promise.all([
    state.read(RESTORE_ID_NAME),
    state.lstat(RESTORE_ID_NAME),
  ]);
  if (text === undefined || !st) return undefined;
  const [restore, shardsLine] = text.split('\n');
  const shards = Number(/^shards (\d+)$/.exec(shardsLine ?? '')?.[1] ?? 1);
  return { restore: restore.trim(), shards, heartbeatMs: st.mtimeMs };
}

function claimText(restore: string, shards: number): string {
  return `${restore}\nshards ${shards}\n`;
}

export function finishedName(shard: Shard | undefined): string {
  return shard ? `finished-${shard.index}-of-${shard.count}` : 'finished';
}

/** Has every shard of `claim` ended for good? */
async function isFinished(state: StateDir, claim: Claim): Promise<boolean> {
  const names =
    claim.shards > 1
      ? Array.from({ length: claim.shards }, (_, index) =>
          finishedName({ index, count: claim.shards }),
        )
      : [finishedName(undefined)];
  for (const name of names) {
    const text = await state.read(name).catch(() => undefined);
    if (text?.trim() !== claim.restore) return false;
  }
  return true;
}

export function inUse(claim: Claim, staleMs: number): RestoreError {
  const last = new Date(claim.heartbeatMs).toISOString();
  const free = new Date(claim.heartbeatMs + staleMs).toISOString();
  return new RestoreError(
    'TARGET_IN_USE',
    `the volume is being written by restore "${claim.restore}" (last active ${last}); one restore writes a volume at a time: ` +
      `wait until "${claim.restore}" ends, or, if it has ended without finishing, retry after ${free}`,
    { entry: claim.restore },
  );
}

/**
 * The inode numbers of every non-directory under `root` (lost+found and .kube-restore left out), as
 * they are found: directories are read as streams, one open directory per level of the tree.
 * A directory the job may not read (an application's private data, say 0700 of another uid) is
 * left out too: the job can neither list nor write anything under it, so nothing there is at risk.
 */
export async function* walkInodes(root: string): AsyncGenerator<number> {
  async function* walk(dir: string, top: boolean): AsyncGenerator<number> {
    let entries: Dir;
    try {
      entries = await fsp.opendir(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!top && (code === 'EACCES' || code === 'EPERM')) return;
      throw e;
    }
    for await (const e of entries) {
      if (top && (e.name === MANIFEST_DIR || e.name === LOST_AND_FOUND))
        continue;
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) yield* walk(abs, false);
      else yield (await fsp.lstat(abs)).ino;
    }
  }
  yield* walk(root, true);
}

/** `walkInodes`, collected (for tests and small trees). */
export async function inodesUnder(root: string): Promise<number[]> {
  const out: number[] = [];
  for await (const ino of walkInodes(root)) out.push(ino);
  return out;
}

/** Lines of numbers, in chunks of about 64 KiB (one write each). */
async function* numberLines(
  numbers: AsyncIterable<number>,
): AsyncGenerator<string> {
  let chunk = '';
  for await (const n of numbers) {
    chunk += `${n}\n`;
    if (chunk.length >= 65_536) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

/**
 * What the volume held before the restore's first attempt, for the conflict policy. `unknown` (a
 * claim from a job without the record) counts every existing file as the user's: never overwritten.
 */
export class Preexisting {
  constructor(
    private readonly inodes: ReadonlySet<number> | SpillSet | 'unknown',
  ) {}

  /** True when `st` (an lstat of a path the restore is about to write) was there before it began. */
  has(st: Stats): boolean {
    if (this.inodes === 'unknown') return true;
    if (this.inodes instanceof SpillSet) return this.inodes.has(String(st.ino));
    return this.inodes.has(st.ino);
  }

  get size(): number {
    return this.inodes === 'unknown' ? -1 : this.inodes.size;
  }

  /** Closes the table the record moved to, if it did. */
  close(): void {
    if (this.inodes instanceof SpillSet) this.inodes.close();
  }
}

/**
 * The one rule for a path the restore writes that already exists (and is not a directory):
 * `write` when it is the restore's own (an earlier attempt wrote it) or the policy is overwrite,
 * `skip` or `fail` for what the volume held before the first attempt.
 */
export function existingPathAction(
  st: Stats,
  preexisting: Preexisting,
  policy: ConflictPolicy,
): 'write' | 'skip' | 'fail' {
  if (!preexisting.has(st)) return 'write';
  if (policy === 'skip-existing') return 'skip';
  if (policy === 'fail') return 'fail';
  return 'write';
}

function preexistingName(restore: string): string {
  return `preexisting-${restore}`;
}

/**
 * Reads the record of what the volume held before `restore`'s first attempt (claimVolume wrote it)
 * as a stream, into memory up to `spill.memoryLimit` inodes and into `spill.spillFile()` past it.
 * The caller closes the result.
 */
export async function readPreexisting(
  state: StateDir,
  restore: string,
  spill: SpillOptions = {},
): Promise<Preexisting> {
  const name = preexistingName(restore);
  const st = await state.lstat(name);
  if (!st) return new Preexisting('unknown');
  if (!st.isFile())
    throw unsafe(`${MANIFEST_DIR}/${name}`, 'is a link or not a file');
  const inodes = new SpillSet(spill);
  try {
    for await (const line of readLines(state.path(name)))
      if (line) inodes.add(String(Number(line)));
  } catch (error) {
    inodes.close();
    throw error;
  }
  return new Preexisting(inodes);
}

export interface ClaimOptions {
  state: StateDir;
  /** The volume root's real path. */
  root: string;
  restore: string;
  shard?: Shard;
  conflict: ConflictPolicy;
  staleMs: number;
  now?: () => number;
}

export interface ClaimResult {
  /** The claim was this restore's already: an earlier attempt (or another shard) began it. */
  resuming: boolean;
  /** The restore that held the volume before this one took it over, if any. */
  previous?: string;
}

/**
 * Claims the volume for `restore`, or throws TARGET_IN_USE naming the live restore that holds it;
 * on a first attempt also checks `fail`'s empty volume and records what the volume holds (read it
 * back with readPreexisting).
 */
export async function claimVolume(options: ClaimOptions): Promise<ClaimResult> {
  const { state, restore, staleMs } = options;
  const now = options.now ?? Date.now;
  const shards = options.shard?.count ?? 1;
  let previous: string | undefined;
  for (let round = 0; round < 8; round++) {
    const current = await readClaim(state);
    if (current?.restore === restore) {
      // Another run of this restore may follow one that finished: it is live again.
      await state.remove(finishedName(options.shard));
      return { resuming: true, previous };
    }
    if (current) {
      const stale = now() - current.heartbeatMs > staleMs;
      if (!stale && !(await isFinished(state, current)))
        throw inUse(current, staleMs);
    }
    // Before the claim exists, nothing of this restore is written: record what is there now (a
    // temporary in the state directory, written as the volume is walked).
    const record = await firstAttemptChecks(options);
    try {
      if (current) {
        if (!(await takeOver(state, current))) continue;
        previous = current.restore;
        await state.remove(preexistingName(current.restore));
      }
      // The first shard's record wins: it was taken before any shard wrote.
      if (record) await state.publish(record, preexistingName(restore));
      if (await state.create(RESTORE_ID_NAME, claimText(restore, shards)))
        return { resuming: false, previous };
    } finally {
      if (record) await state.remove(record);
    }
  }
  const holder = await readClaim(state);
  if (holder && holder.restore !== restore) throw inUse(holder, staleMs);
  throw new RestoreError('INTERNAL', 'could not claim the volume');
}

/**
 * `fail` needs an empty volume (nothing at its top but lost+found and .kube-restore, not even an
 * empty directory); `skip-existing` records what is there (overwrite needs neither). Returns the
 * record's temporary in the state directory, or undefined for overwrite.
 */
async function firstAttemptChecks(
  options: ClaimOptions,
): Promise<string | undefined> {
  if (options.conflict === 'overwrite') return undefined;
  if (options.conflict === 'fail') {
    // The first name found is enough (a directory is read as a stream).
    let found: string | undefined;
    for await (const e of await fsp.opendir(options.root)) {
      if (e.name === MANIFEST_DIR || e.name === LOST_AND_FOUND) continue;
      found = e.name;
      break;
    }
    if (found !== undefined)
      throw new RestoreError(
        'TARGET_NOT_EMPTY',
        `the volume already holds "${found}" (and maybe more); empty it, or set target.conflict to skip-existing or overwrite`,
        { entry: found },
      );
    return options.state.temporary('');
  }
  return options.state.temporary(numberLines(walkInodes(options.root)));
}

/**
 * Moves a finished or stale claim aside; true when the one moved is the one judged (a racing
 * restore that claimed in between gets its claim back, and this one goes round again).
 */
async function takeOver(state: StateDir, judged: Claim): Promise<boolean> {
  const aside = `.aside-${randomBytes(6).toString('hex')}`;
  try {
    await fsp.rename(state.path(RESTORE_ID_NAME), state.path(aside));
  } catch (error) {
    if (errno(error) === 'ENOENT') return true;
    throw error;
  }
  const moved = (await state.read(aside))?.split('\n')[0].trim();
  if (moved === judged.restore) {
    await state.remove(aside);
    return true;
  }
  await fsp.link(state.path(aside), state.path(RESTORE_ID_NAME)).catch(() => {
    // Someone claimed again meanwhile: theirs stands.
  });
  await state.remove(aside);
  return false;
}

/** Marks this pod's part of the restore as ended for good. */
export async function markFinished(
  state: StateDir,
  restore: string,
  shard: Shard | undefined,
): Promise<void> {
  await state.write(finishedName(shard), `${restore}\n`);
}

/**
 * Touches the claim every `intervalMs` while the pod works; calls `lost` (once) when the claim no
 * longer names this restore (a takeover after a stall): the pod must stop writing.
 */
export function startHeartbeat(
  state: StateDir,
  restore: string,
  intervalMs: number,
  lost: (holder: Claim | undefined) => void,
): () => void {
  let stopped = false;
  const beat = async () => {
    const claim = await readClaim(state).catch(() => undefined);
    if (stopped) return;
    if (claim?.restore !== restore) {
      stopped = true;
      lost(claim);
      return;
    }
    const now = new Date();
    await fsp
      .lutimes(state.path(RESTORE_ID_NAME), now, now)
      .catch(() => undefined);
  };
  const timer = setInterval(() => void beat(), intervalMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
