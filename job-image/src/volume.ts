/**
 * Whose volume is this, and what did it hold before the restore began?
 *
 * kube-restore's own directory, `.kube-restore/`, is reached only through its descriptor, never
 * through a link (stateDir.ts). In it:
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
import { Dir, promises as fsp, Stats } from 'node:fs';
import path from 'node:path';
import { ConflictPolicy, MANIFEST_DIR } from '@kube-restore/common';
import { RestoreError } from './errors';
import { LOST_AND_FOUND, unsafe } from './paths';
import { readLines } from './scratch';
import { errno, StateDir } from './stateDir';
import type { Shard } from './shard';
import { SpillSet, type SpillOptions } from './spillSet';

export const RESTORE_ID_NAME = 'restore-id';
/** A claim whose heartbeat is older than this (and is not finished) may be taken over. */
export const DEFAULT_CLAIM_STALE_MS = 15 * 60_000;
export const HEARTBEAT_MS = 30_000;

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
