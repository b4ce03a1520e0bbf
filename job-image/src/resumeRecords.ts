/**
 * What earlier attempts recorded as written and verified, by key, on disk: a resumed attempt of a
 * million-object restore reads its manifest into an SQLite table (node:sqlite) in the scratch
 * directory instead of a Map, and looks each listed key up as it goes.
 *
 * Why a table and not a merge-join of two sorted streams: the manifest is appended in the order
 * transfers finish (and one attempt after the other), not in key order, so a join would need an
 * external sort first; and a listing is not always in byte order (versions listings, servers that
 * sort differently), which a join would need a fallback for. The listing's keys do come mostly in
 * order, so the lookups walk the B-tree's pages in order and stay in SQLite's small page cache.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { openScratchDatabase } from './scratchDatabase';

/** What a resume needs of a recorded object (a manifest `object` line). */
export interface RecordedObject {
  key: string;
  version?: string;
  path: string;
  size: number;
  etag?: string;
}

/** Read side, as a Map of key to record would offer it (a fresh restore passes an empty Map). */
export interface ResumeLookup {
  get(key: string): RecordedObject | undefined;
  readonly size: number;
}

/** Rows written per transaction while loading. */
const BATCH = 5000;

export class ResumeRecords implements ResumeLookup {
  private readonly db: DatabaseSync;
  private readonly put: StatementSync;
  private readonly find: StatementSync;
  private pending = 0;
  private count = 0;

  /** `file`: a fresh SQLite file in the scratch directory (`:memory:` in unit tests). */
  constructor(file: string) {
    this.db = openScratchDatabase(
      file,
      'CREATE TABLE objects (key TEXT PRIMARY KEY, path TEXT NOT NULL, size INTEGER NOT NULL,' +
        ' etag TEXT, version TEXT) WITHOUT ROWID',
    );
    this.put = this.db.prepare(
      'INSERT OR REPLACE INTO objects (key, path, size, etag, version) VALUES (?, ?, ?, ?, ?)',
    );
    this.find = this.db.prepare(
      'SELECT key, path, size, etag, version FROM objects WHERE key = ?',
    );
  }

  /** Records an object; a later record of the same key replaces an earlier one. */
  add(o: RecordedObject): void {
    if (this.pending === 0) this.db.exec('BEGIN');
    this.put.run(o.key, o.path, o.size, o.etag ?? null, o.version ?? null);
    if (++this.pending >= BATCH) this.commit();
    this.count = -1;
  }

  /** Ends loading: commits and counts the keys. */
  seal(): void {
    this.commit();
    const row = this.db.prepare('SELECT count(*) AS n FROM objects').get() as {
      n: number;
    };
    this.count = Number(row.n);
  }

  get size(): number {
    if (this.count < 0) this.seal();
    return this.count;
  }

  get(key: string): RecordedObject | undefined {
    const row = this.find.get(key) as
      | {
          key: string;
          path: string;
          size: number;
          etag: string | null;
          version: string | null;
        }
      | undefined;
    if (!row) return undefined;
    return {
      key: row.key,
      path: row.path,
      size: Number(row.size),
      etag: row.etag ?? undefined,
      version: row.version ?? undefined,
    };
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  private commit(): void {
    if (this.pending === 0) return;
    this.pending = 0;
    this.db.exec('COMMIT');
  }
}
