import { compareKeys, parseRestoreRequest } from '@kube-restore/common';
import { inRange, inShard, rangeOf, shardOf } from './shard';

const shards = { bounds: ['p/c', 'p/f'] };

describe('key ranges of shards', () => {
  it('gives shard i the keys of (bounds[i-1], bounds[i]]', () => {
    expect(rangeOf({ index: 0, count: 3 }, shards)).toEqual({
      after: undefined,
      last: 'p/c',
    });
    expect(rangeOf({ index: 1, count: 3 }, shards)).toEqual({
      after: 'p/c',
      last: 'p/f',
    });
    expect(rangeOf({ index: 2, count: 3 }, shards)).toEqual({
      after: 'p/f',
      last: undefined,
    });
    const owners = ['p/a', 'p/c', 'p/c0', 'p/f', 'p/g'].map(key =>
      [0, 1, 2].filter(index => inShard(key, { index, count: 3 }, shards)),
    );
    expect(owners).toEqual([[0], [0], [1], [1], [2]]);
  });

  it('compares in S3 key order (UTF-8 bytes)', () => {
    // U+FF21 sorts before U+1F600 in UTF-8 (not in UTF-16).
    expect(inRange('p/\uff21', { after: 'p/a', last: 'p/\u{1f600}' })).toBe(
      true,
    );
  });

  it('falls back to the hash without bounds, or with bounds for another shard count', () => {
    for (const key of ['p/a', 'p/b', 'p/zz']) {
      const owner = shardOf(key, 3);
      expect(inShard(key, { index: owner, count: 3 })).toBe(true);
      expect(inShard(key, { index: owner, count: 3 }, undefined)).toBe(true);
    }
    expect(rangeOf({ index: 0, count: 4 }, shards)).toBeUndefined();
    expect(rangeOf(undefined, shards)).toBeUndefined();
    expect(inShard('p/a', undefined, shards)).toBe(true);
  });

  it('reads the bounds a request carries', () => {
    const request = parseRestoreRequest({
      source: { bucket: 'bkt', prefix: 'p/' },
      target: { namespace: 'ns', pvc: 'data' },
      options: { parallelism: 3 },
      shards,
    });
    expect(rangeOf({ index: 1, count: 3 }, request.shards)).toEqual({
      after: 'p/c',
      last: 'p/f',
    });
  });

  it('gives every key to exactly one shard, whatever ascending bounds core chose', () => {
    // Keys as a delimiter listing sees them: 30 directories of 100, names that sort around them.
    const keys = [
      ...Array.from(
        { length: 3000 },
        (_, i) =>
          `t/p${String(Math.floor(i / 100)).padStart(2, '0')}/k${i % 100}.bin`,
      ),
      't/p05',
      't/p05-old/x',
      't/p05.txt',
      't/p05/',
      't/\uff21/x',
      't/\u{1f600}/x',
    ].sort(compareKeys);
    const boundSets = [
      // Common prefixes (core's delimiter listing): p08/'s keys go to the next shard.
      ['t/p08/', 't/p15/', 't/p23/'],
      // Keys (core's full listing), bounds no key equals, and bounds past either end.
      [keys[700], 't/p15/k5', 't/p20'],
      ['t/', 't/p05/', 't/\uff21/'],
      ['t/p05', 't/p05-old/', 't/p05.txt'],
      ['t/p29/k99.bin', 't/\uff21/x', 't/\u{1f601}'],
    ];
    for (const bounds of boundSets) {
      const count = bounds.length + 1;
      const request = parseRestoreRequest({
        source: { bucket: 'bkt', prefix: 't/' },
        target: { namespace: 'ns', pvc: 'data' },
        options: { parallelism: count },
        shards: { bounds },
      });
      const owners = keys.map(
        key =>
          Array.from({ length: count }, (_, index) => index).filter(index =>
            inShard(key, { index, count }, request.shards),
          ).length,
      );
      expect(owners.every(n => n === 1)).toBe(true);
    }
    // With directories as bounds, each directory's keys stay in one shard.
    const dirBounds = { bounds: ['t/p08/', 't/p15/', 't/p23/'] };
    const shardOfKey = (key: string) =>
      [0, 1, 2, 3].find(index => inShard(key, { index, count: 4 }, dirBounds));
    const counts = [0, 0, 0, 0];
    for (const key of keys.filter(k => /^t\/p\d\d\/k/.test(k)))
      counts[shardOfKey(key)!]++;
    expect(counts).toEqual([800, 700, 800, 700]);
    expect(shardOfKey('t/p08/')).toBe(0);
    expect(shardOfKey('t/p08/k0.bin')).toBe(1);
  });
});
