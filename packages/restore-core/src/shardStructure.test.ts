/**
 * boundsFromEntries (pure): entries of a delimiter listing split evenly by count, and a common
 * prefix as a bound keeps its keys together in the next shard. structureBounds against a real
 * MinIO, with its LIST requests counted: test/e2e/src/shardStructure.test.ts.
 */
import { compareKeys } from '@kube-restore/common';
import { ENTRIES_PER_SHARD, boundsFromEntries } from './shardStructure';

/** The shard a key falls in, by the job's rule: shard i takes (bounds[i-1], bounds[i]]. */
function shardOfKey(key: string, bounds: string[]): number {
  const i = bounds.findIndex(b => compareKeys(key, b) <= 0);
  return i === -1 ? bounds.length : i;
}

const sorted = (keys: string[]) => [...keys].sort(compareKeys);

describe('boundsFromEntries', () => {
  const dirs = Array.from(
    { length: 30 },
    (_, i) => `t/p${String(i).padStart(2, '0')}/`,
  );

  it('splits 30 directories for 4 shards into runs of 7 or 8', () => {
    const bounds = boundsFromEntries(dirs, 4)!;
    expect(bounds).toEqual(['t/p08/', 't/p15/', 't/p23/']);
    // 100 keys under each directory: every directory's keys land in one shard.
    const keys = dirs.flatMap(d =>
      Array.from({ length: 100 }, (_, j) => `${d}${j}.bin`),
    );
    const counts = [0, 0, 0, 0];
    for (const d of dirs) {
      const owners = new Set(
        keys.filter(k => k.startsWith(d)).map(k => shardOfKey(k, bounds)),
      );
      expect(owners.size).toBe(1);
    }
    for (const k of keys) counts[shardOfKey(k, bounds)]++;
    expect(counts).toEqual([800, 700, 800, 700]);
  });

  it('keeps a directory whole next to names that sort around it', () => {
    // '-' < '.' < '/' < '0': "a-b/" and "a.txt" sort before "a/", "a0/" after all of a/'s keys.
    const entries = sorted([
      'p/a-b/',
      'p/a.txt',
      'p/a/',
      'p/a0/',
      'p/b',
      'p/\uff21/',
      'p/\u{1f600}/',
      'p/z/',
    ]);
    expect(entries.slice(0, 4)).toEqual(['p/a-b/', 'p/a.txt', 'p/a/', 'p/a0/']);
    // U+FF21 before U+1F600 in S3's (UTF-8) order.
    expect(entries.indexOf('p/\uff21/')).toBeLessThan(
      entries.indexOf('p/\u{1f600}/'),
    );
    const bounds = boundsFromEntries(entries, 2, 4)!;
    expect(bounds).toEqual(['p/b']);
    const under = (dir: string) =>
      ['', 'x', 'y/z', '~', '\u{1f600}'].map(s => `${dir}${s}`);
    for (const dir of entries.filter(e => e.endsWith('/'))) {
      const owners = new Set(
        under(dir)
          .filter(k => k !== dir)
          .map(k => shardOfKey(k, bounds)),
      );
      expect(owners.size).toBe(1);
    }
    // A top-level object as a bound stays in the shard it ends.
    expect(shardOfKey('p/b', bounds)).toBe(0);
    expect(shardOfKey('p/\uff21/x', bounds)).toBe(1);
  });

  it('gives no bounds for one shard or too few entries', () => {
    expect(boundsFromEntries(dirs, 1)).toBeUndefined();
    expect(boundsFromEntries(dirs.slice(0, 15), 4)).toBeUndefined();
    expect(ENTRIES_PER_SHARD * 4).toBe(16);
    expect(boundsFromEntries(dirs.slice(0, 16), 4)).toEqual([
      't/p04/',
      't/p08/',
      't/p12/',
    ]);
    expect(boundsFromEntries([], 2)).toBeUndefined();
  });

  it('gives strictly ascending bounds for every count of entries and shards', () => {
    const entries = sorted(
      Array.from({ length: 300 }, (_, i) => `k/${i.toString(36)}`),
    );
    for (let shards = 2; shards <= 64; shards++) {
      for (const n of [shards * 4, shards * 4 + 1, shards * 5 - 1, 300]) {
        if (n > entries.length) continue;
        const bounds = boundsFromEntries(entries.slice(0, n), shards)!;
        expect(bounds).toHaveLength(shards - 1);
        for (let i = 1; i < bounds.length; i++)
          expect(compareKeys(bounds[i - 1], bounds[i])).toBeLessThan(0);
        // No shard is empty of entries: the first bound is not the first entry.
        expect(bounds[0]).not.toBe(entries[0]);
      }
    }
  });

  it('refuses entries out of order and bad arguments', () => {
    expect(() => boundsFromEntries(['p/b/', 'p/a/'], 2, 1)).toThrow(
      /ascend strictly/,
    );
    expect(() => boundsFromEntries(['p/a/', 'p/a/'], 2, 1)).toThrow(
      /ascend strictly/,
    );
    expect(() => boundsFromEntries(dirs, 0)).toThrow(/shards/);
    expect(() => boundsFromEntries(dirs, 2, 0)).toThrow(/minPerShard/);
  });
});
