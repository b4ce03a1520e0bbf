import { parseRestoreRequest } from '@kube-restore/common';
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
});
