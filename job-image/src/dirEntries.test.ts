/** DirectoryEntryLimit: what counts as an entry of which directory, and what it keeps in memory. */
import { DEFAULT_MAX_ENTRIES_PER_DIRECTORY } from '@kube-restore/common';
import { DirectoryEntryLimit } from './dirEntries';
import type { RestoreError } from './errors';

function refusal(fn: () => void): RestoreError {
  try {
    fn();
  } catch (error) {
    return error as RestoreError;
  }
  throw new Error('not refused');
}

describe('DirectoryEntryLimit', () => {
  it('counts each new path once in its parent, and implied parents in theirs', () => {
    const limit = new DirectoryEntryLimit(2);
    limit.add('a/b/c', 'a/b/c', false); // root: a; a: b; a/b: c
    limit.add('a/b/', 'a/b/', true); // seen already: nothing new
    limit.add('a/b', 'a/b', true);
    limit.add('a/x', 'a/x', false); // a: b, x
    const error = refusal(() => limit.add('a/y/z', 'a/y/z', false));
    expect(error.code).toBe('INVALID_ARCHIVE');
    expect(error.entry).toBe('a/y/z');
    expect(error.message).toContain('directory "a" would hold more than 2');
  });

  it('memory: one entry per directory seen, none per file', () => {
    const limit = new DirectoryEntryLimit(10_000);
    for (let i = 0; i < 5000; i++) limit.add(`d/f${i}`, `d/f${i}`, false);
    expect(limit.directories).toBe(2); // '' and 'd'
  });

  it('without a bound given, DEFAULT_MAX_ENTRIES_PER_DIRECTORY applies', () => {
    expect(new DirectoryEntryLimit().max).toBe(
      DEFAULT_MAX_ENTRIES_PER_DIRECTORY,
    );
    expect(new DirectoryEntryLimit(undefined).max).toBe(1_000_000);
  });

  it('folds case on a case-insensitive volume', () => {
    const limit = new DirectoryEntryLimit(1, { foldCase: true });
    limit.add('A/', 'A/', true);
    limit.add('a/', 'a/', true);
    expect(refusal(() => limit.add('B', 'B', false)).code).toBe(
      'INVALID_ARCHIVE',
    );
  });
});
