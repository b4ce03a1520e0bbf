/**
 * A set of strings held in memory up to a limit, then in an SQLite table (node:sqlite) in the
 * scratch directory: what a restore must remember per file (the inodes a volume held before it,
 * the final paths an archive wrote) without memory growing with the number of files.
 *
 * Small restores, the common case, never touch the disk. Past the limit, every value held so far
 * moves into the table and the memory is let go; from then on each `add` is an insert and each
 * `has` a lookup by primary key.
 */
import { rmSync } from 'node:fs';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { openScratchDatabase } from './scratchDatabase';

/** Values held in memory before a set moves to disk (one or two MiB of paths). */
export const DEFAULT_SPILL_LIMIT = 20_000;

/** Rows written per transaction. */
const BATCH = 2000;

export interface SpillOptions {
  /**
   * A fresh file name in the scratch directory (the caller removes the directory) for when the
   * memory limit is passed. Without it the set stays in memory, whatever its size (tests).
   */
  spillFile?: () => string;
  /** Values held in memory at most; default DEFAULT_SPILL_LIMIT. */
  memoryLimit?: number;
}

export class SpillSet {
  private memory: Set<string> | undefined = new Set();
  private db: DatabaseSync | undefined;
  private insert: StatementSync | undefined;
  private lookup: StatementSync | undefined;
  private file: string | undefined;
  private pending = 0;
  private count = 0;
  private readonly limit: number;

  constructor(private readonly options: SpillOptions = {}) {
    this.limit = options.memoryLimit ?? DEFAULT_SPILL_LIMIT;
  }

  /** True once the values live in the table. */
  get spilled(): boolean {
    return this.db !== undefined;
  }

  /** Values held. */
  get size(): number {
    return this.count;
  }

  add(value: string): void {
    if (this.memory) {
      if (this.memory.has(value)) return;
      this.memory.add(value);
      this.count++;
      if (this.memory.size > this.limit && this.options.spillFile)
        this.spill(this.options.spillFile());
      return;
    }
    if (this.pending === 0) this.db!.exec('BEGIN');
    if (this.insert!.run(value).changes) this.count++;
    if (++this.pending >= BATCH) this.commit();
  }

  has(value: string): boolean {
    if (this.memory) return this.memory.has(value);
    return this.lookup!.get(value) !== undefined;
  }

  /** Lets the table go and removes its file (an archive retried starts afresh). */
  close(): void {
    if (!this.db?.isOpen) return;
    this.commit();
    this.db.close();
    rmSync(this.file!, { force: true });
  }

  private spill(file: string): void {
    this.file = file;
    const db = openScratchDatabase(
      file,
      'CREATE TABLE spill (v TEXT PRIMARY KEY) WITHOUT ROWID',
    );
    this.db = db;
    this.insert = db.prepare('INSERT OR IGNORE INTO spill (v) VALUES (?)');
    this.lookup = db.prepare('SELECT 1 FROM spill WHERE v = ?');
    const held = this.memory!;
    this.memory = undefined;
    this.count = 0;
    for (const value of held) this.add(value);
  }

  private commit(): void {
    if (this.pending === 0) return;
    this.pending = 0;
    this.db!.exec('COMMIT');
  }
}
