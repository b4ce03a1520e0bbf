/**
 * The streaming check that two keys never land on one path and that no file stands where a
 * directory must go, for a listing of any length in bounded memory.
 *
 * A claim is a string: a file's path `p`, a directory's `p/`. Two claims conflict when they are
 * equal and one is a file, or when a file's claim `F` is followed by a claim that starts with `F/`.
 *
 * Sorted mode (the common case). S3 lists keys in UTF-8 byte order, and the usual mapping from key
 * to path (drop the prefix, drop `stripPrefix`) keeps that order. In a sorted stream, every claim
 * between `F` and the last claim starting with `F/` starts with `F` (anything else sorts after the
 * whole `F/` range), so the only files worth remembering are the files whose claim is a prefix of
 * the current one: a stack no deeper than the path. Nothing else is read back.
 *
 * Every claim is also written to an SQLite table (node:sqlite) in the scratch directory. Rows that
 * arrive in order go to the end of the B-tree, which is cheap (hundreds of thousands a second).
 * The table is read only after a claim arrives out of order, which normalisation can cause (`./`,
 * `//`, case folding on a case-insensitive volume, a listing that is not sorted): from then on
 * every claim is checked against the table (its ancestors, itself, and the range below it).
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { conflict } from './paths';
import { openScratchDatabase } from './scratchDatabase';

/** Compares two strings by their UTF-8 bytes (code point order), as S3 sorts keys. */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return utf8Rank(x) - utf8Rank(y);
  }
  return a.length - b.length;
}

/** UTF-16 code units re-ranked so that surrogates (code points above U+FFFF) sort last. */
function utf8Rank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/** Rows written per transaction while the claims arrive in order. */
const BATCH = 2000;
/** Paths remembered as directories (out of order), to skip looking their ancestors up. */
const KNOWN_DIRS_MAX = 4096;

export interface PathClaimsOptions {
  /** The SQLite file: a fresh name in the scratch directory, which the caller removes. */
  file: string;
  /** The volume is case-insensitive: `A` and `a` are one path. */
  foldCase?: boolean;
  /**
   * The claims come in no order (an archive's entries): every claim is checked against the table
   * from the first one on.
   */
  unsorted?: boolean;
}

interface Held {
  claim: string;
  entry: string;
}

export class PathClaims {
  private readonly db: DatabaseSync;
  private readonly insert: StatementSync;
  private readonly lookup: StatementSync;
  private readonly below: StatementSync;
  private readonly foldCase: boolean;
  /** Files whose claim is a prefix of the last claim, shortest first (sorted mode). */
  private readonly stack: Held[] = [];
  private last: string | undefined;
  private sorted = true;
  private pending = 0;
  /**
   * Paths a checked claim showed to be directories (out of order). A directory never becomes a
   * file (that claim is refused), and its ancestors are directories too: the ancestors' lookups
   * stop at the deepest one known.
   */
  private readonly knownDirs = new Set<string>();

  constructor(options: PathClaimsOptions) {
    this.foldCase = options.foldCase ?? false;
    this.sorted = !options.unsorted;
    this.db = openScratchDatabase(
      options.file,
      'CREATE TABLE claims (claim TEXT PRIMARY KEY, entry TEXT NOT NULL) WITHOUT ROWID',
    );
    this.insert = this.db.prepare(
      'INSERT OR IGNORE INTO claims (claim, entry) VALUES (?, ?)',
    );
    this.lookup = this.db.prepare('SELECT entry FROM claims WHERE claim = ?');
    this.below = this.db.prepare(
      'SELECT entry FROM claims WHERE claim >= ? AND claim < ? LIMIT 1',
    );
  }

  /** True while every claim so far arrived in order (nothing was read back from disk). */
  get inOrder(): boolean {
    return this.sorted;
  }

  /** Claims `rel` for a file from `entry`; throws PATH_CONFLICT. */
  claimFile(rel: string, entry: string): void {
    this.claim(this.fold(rel), false, entry);
  }

  /** Claims `rel` as a directory (S3 folder markers); the root ('') is always one. */
  claimDir(rel: string, entry: string): void {
    if (rel === '') return;
    this.claim(`${this.fold(rel)}/`, true, entry);
  }

  /**
   * Stores claims checked elsewhere (an in-memory registry's, moving to disk), as they are: `p` for
   * a file, `p/` for a directory, already folded. Later claims are checked against them.
   */
  seed(claims: Iterable<[claim: string, entry: string]>): void {
    for (const [claim, entry] of claims) {
      if (this.pending === 0) this.db.exec('BEGIN');
      this.insert.run(claim, entry);
      if (++this.pending >= BATCH) this.commit();
    }
    this.sorted = false;
    this.stack.length = 0;
  }

  close(): void {
    if (!this.db.isOpen) return;
    this.commit();
    this.db.close();
  }

  private fold(rel: string): string {
    return this.foldCase ? rel.toLowerCase() : rel;
  }

  private claim(claim: string, dir: boolean, entry: string): void {
    if (
      this.sorted &&
      this.last !== undefined &&
      compareUtf8(claim, this.last) < 0
    ) {
      this.sorted = false;
      this.stack.length = 0;
    }
    if (this.sorted) this.checkSorted(claim, dir, entry);
    else this.checkStored(claim, dir, entry);
    this.last = claim;
    if (this.pending === 0) this.db.exec('BEGIN');
    this.insert.run(claim, entry);
    if (++this.pending >= BATCH) this.commit();
  }

  private commit(): void {
    if (this.pending === 0) return;
    this.pending = 0;
    this.db.exec('COMMIT');
  }

  private checkSorted(claim: string, dir: boolean, entry: string): void {
    const stack = this.stack;
    while (stack.length > 0 && !claim.startsWith(stack[stack.length - 1].claim))
      stack.pop();
    for (const held of stack) {
      if (claim === held.claim)
        throw conflict(
          entry,
          `"${held.entry}" lands on the same path "${claim}"`,
        );
      if (claim.startsWith(`${held.claim}/`))
        throw conflict(
          entry,
          `"${held.entry}" is a file where a directory must go`,
        );
    }
    if (!dir) stack.push({ claim, entry });
  }

  private checkStored(claim: string, dir: boolean, entry: string): void {
    const bare = dir ? claim.slice(0, -1) : claim;
    // Every ancestor must not be a file: deepest first, up to one known to be a directory.
    for (
      let i = bare.lastIndexOf('/');
      i > 0;
      i = bare.lastIndexOf('/', i - 1)
    ) {
      const ancestor = bare.slice(0, i);
      if (this.knownDirs.has(ancestor)) break;
      const other = this.entryOf(ancestor);
      if (other !== undefined)
        throw conflict(entry, `"${other}" is a file where a directory must go`);
    }
    const same = this.entryOf(bare);
    if (same !== undefined) {
      throw conflict(
        entry,
        dir
          ? `"${same}" is a file where a directory must go`
          : `"${same}" lands on the same path "${claim}"`,
      );
    }
    if (!dir) {
      // Anything below `claim/`: `claim0` is the first string after that range ('0' follows '/').
      const row = this.below.get(`${claim}/`, `${claim}0`) as
        { entry: string } | undefined;
      if (row !== undefined)
        throw conflict(
          entry,
          `"${claim}" must be a directory for "${row.entry}"`,
        );
    }
    this.knowDir(
      dir ? bare : bare.slice(0, Math.max(bare.lastIndexOf('/'), 0)),
    );
  }

  private knowDir(rel: string): void {
    if (rel === '') return;
    if (this.knownDirs.size >= KNOWN_DIRS_MAX) this.knownDirs.clear();
    this.knownDirs.add(rel);
  }

  private entryOf(claim: string): string | undefined {
    const row = this.lookup.get(claim) as { entry: string } | undefined;
    return row?.entry;
  }
}
