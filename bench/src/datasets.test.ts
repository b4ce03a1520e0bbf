import { createHash } from 'node:crypto';
import {
  cacheKey,
  content,
  FULL,
  largeObjects,
  listingKeys,
  QUICK,
  Rng,
  smallObjects,
  tarTree,
  textContent,
} from './datasets';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('datasets', () => {
  it('the PRNG is deterministic per seed and differs between seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
    // pinned: a change of generator must bump DATASET_VERSION
    expect(new Rng(42).next()).toBe(xs[0]);
    expect(xs.every(x => Number.isInteger(x) && x >= 0 && x < 2 ** 32)).toBe(
      true,
    );
  });

  it('content is reproducible, sized exactly, and depends on seed and name', () => {
    const one = content(42, 'x', 100_000);
    expect(one.length).toBe(100_000);
    expect(sha(content(42, 'x', 100_000))).toBe(sha(one));
    expect(sha(content(43, 'x', 100_000))).not.toBe(sha(one));
    expect(sha(content(42, 'y', 100_000))).not.toBe(sha(one));
    // a prefix of a longer body is the shorter body (chunking does not change the bytes)
    expect(
      content(42, 'x', 10 * 1024 * 1024)
        .subarray(0, 100_000)
        .equals(one),
    ).toBe(true);
    expect(content(42, 'x', 0).length).toBe(0);
  });

  it('text content is compressible words of exactly the asked size', () => {
    const t = textContent(1, 'f', 5000);
    expect(t.length).toBe(5000);
    expect(t.equals(textContent(1, 'f', 5000))).toBe(true);
    expect(/^[a-z \n]+$/.test(t.toString('latin1'))).toBe(true);
  });

  it('dataset plans are the same for the same seed, with unique nested names', () => {
    const s1 = smallObjects(7, QUICK);
    expect(smallObjects(7, QUICK)).toEqual(s1);
    expect(smallObjects(8, QUICK)).not.toEqual(s1);
    expect(s1).toHaveLength(QUICK.smallCount);
    expect(new Set(s1.map(o => o.name)).size).toBe(s1.length);
    expect(
      s1.every(o => /^d\d\d(\/e\d\d(\/f\d\d)?)?\/obj-\d{7}$/.test(o.name)),
    ).toBe(true);
    expect(largeObjects(FULL).map(o => o.size)).toEqual(
      Array(8).fill(256 * 2 ** 20),
    );
    const tree = tarTree(7, QUICK);
    expect(tarTree(7, QUICK)).toEqual(tree);
    expect(new Set(tree.map(o => o.name)).size).toBe(tree.length);
    expect(listingKeys(7, { ...QUICK, listingKeys: 1000 })).toHaveLength(1000);
  });

  it('cache keys change with the seed, the sizes and the server version', () => {
    const k = cacheKey(42, FULL, 'v1');
    expect(cacheKey(42, FULL, 'v1')).toBe(k);
    expect(cacheKey(43, FULL, 'v1')).not.toBe(k);
    expect(cacheKey(42, QUICK, 'v1')).not.toBe(k);
    expect(cacheKey(42, FULL, 'v2')).not.toBe(k);
  });
});
