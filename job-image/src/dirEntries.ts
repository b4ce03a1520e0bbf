/**
 * A bound on the number of entries in one directory (`source.maxEntriesPerDirectory`): a hostile
 * archive could otherwise make millions of names in one directory, which slows every lookup in it
 * and every tool that lists it, and can exhaust the file system's limits for one directory.
 *
 * Entries are counted as they are claimed: each new file, link or directory counts once in its
 * parent, and directories that only appear as parents of a path (`a/b/c` without an `a/` entry)
 * count in theirs. Memory: one map entry (the directory's relative path and a number) per
 * directory seen, nothing per file; callers claim each path once (their registry refuses a
 * second claim of one file), so a file is never counted twice.
 */
import { DEFAULT_MAX_ENTRIES_PER_DIRECTORY } from '@kube-restore/common';
import { RestoreError } from './errors';
import { parentOf } from './paths';

export class DirectoryEntryLimit {
  /** Directories seen (relative paths, the root is ''), with the entries counted in each. */
  private readonly counts = new Map<string, number>([['', 0]]);

  constructor(
    readonly max: number = DEFAULT_MAX_ENTRIES_PER_DIRECTORY,
    private readonly options: {
      /** The volume folds letter case: `A/` and `a/` are one directory. */
      foldCase?: boolean;
      /** What the source is, for the message (`archive "x.tar"`, `prefix "p/"`). */
      source?: string;
    } = {},
  ) {}

  /** Counts a newly claimed path; throws INVALID_ARCHIVE once a directory would hold more than `max`. */
  add(relName: string, entry: string, isDir: boolean): void {
    const rel = this.options.foldCase ? relName.toLowerCase() : relName;
    if (isDir && this.counts.has(rel)) return;
    this.countIn(parentOf(rel), entry);
    if (isDir) this.counts.set(rel, 0);
  }

  /** Directories seen so far (the memory this costs is one entry each). */
  get directories(): number {
    return this.counts.size;
  }

  private countIn(dir: string, entry: string): void {
    let count = this.counts.get(dir);
    if (count === undefined) {
      this.countIn(parentOf(dir), entry);
      count = 0;
    }
    if (count + 1 > this.max) {
      const where = dir === '' ? 'the volume root' : `directory "${dir}"`;
      const source = this.options.source ? ` in ${this.options.source}` : '';
      throw new RestoreError(
        'INVALID_ARCHIVE',
        `refused "${entry}"${source}: ${where} would hold more than ${this.max} entries ` +
          '(source.maxEntriesPerDirectory; raise it if the data really is laid out so)',
        { entry },
      );
    }
    this.counts.set(dir, count + 1);
  }
}
