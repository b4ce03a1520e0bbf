import {
  compareKeys,
  parseRestoreRequest,
  restoreNameOf,
  safeParseRestoreRequest,
} from './request';

const sharded = (bounds: string[], parallelism = 4) => ({
  source: { bucket: 'datasets', prefix: 'p/' },
  target: { namespace: 'team-a', pvc: 'data' },
  options: { parallelism },
  shards: { bounds },
});

function problemsOf(input: unknown) {
  const result = safeParseRestoreRequest(input);
  if (result.ok) throw new Error('expected the request to be rejected');
  return result.problems;
}

describe('shards.bounds', () => {
  it('accepts parallelism - 1 ascending keys under the prefix', () => {
    const request = parseRestoreRequest(sharded(['p/b', 'p/d', 'p/f']));
    expect(request.shards).toEqual({ bounds: ['p/b', 'p/d', 'p/f'] });
  });

  it('names the count it needs', () => {
    expect(problemsOf(sharded(['p/b', 'p/d']))).toEqual([
      {
        path: 'shards.bounds',
        message: 'must hold options.parallelism - 1 = 3 keys (got 2)',
      },
    ]);
  });

  it('refuses bounds out of order or repeated, naming the bound', () => {
    expect(problemsOf(sharded(['p/b', 'p/b', 'p/a']))).toEqual([
      {
        path: 'shards.bounds.1',
        message:
          '"p/b" must sort after "p/b" (bounds ascend strictly, in S3\'s key order)',
      },
      {
        path: 'shards.bounds.2',
        message:
          '"p/a" must sort after "p/b" (bounds ascend strictly, in S3\'s key order)',
      },
    ]);
  });

  it('refuses a bound outside the prefix', () => {
    expect(problemsOf(sharded(['p/b', 'q/c', 'p/z']))).toContainEqual({
      path: 'shards.bounds.1',
      message: '"q/c" is not under the prefix "p/"',
    });
  });

  it('refuses bounds without shards or for one key', () => {
    expect(problemsOf(sharded(['p/b'], 1))).toEqual([
      {
        path: 'shards',
        message: 'shard bounds need a prefix and options.parallelism above 1',
      },
    ]);
    expect(
      problemsOf({ ...sharded([]), shards: { bounds: [] } }).map(p => p.path),
    ).toContain('shards.bounds');
  });

  it('orders by UTF-8 bytes, as S3 lists keys', () => {
    // U+FF21 sorts before U+1F600 in UTF-8, after it in UTF-16 code units.
    expect(compareKeys('\uff21', '\u{1f600}')).toBeLessThan(0);
    expect('\uff21' < '\u{1f600}').toBe(false);
    expect(compareKeys('a', 'ab')).toBeLessThan(0);
    expect(compareKeys('b', 'b')).toBe(0);
    const alphabet = [
      'a',
      'z',
      '/',
      '\u00e9',
      '\uff21',
      '\ue000',
      '\u{1f600}',
      '\u{10ffff}',
    ];
    let seed = 7;
    const pick = () =>
      alphabet[(seed = (seed * 48271) % 2147483647) % alphabet.length];
    for (let i = 0; i < 2000; i++) {
      const a = Array.from({ length: 1 + (i % 4) }, pick).join('');
      const b = Array.from({ length: 1 + ((i >> 2) % 4) }, pick).join('');
      const bytes = Buffer.compare(Buffer.from(a), Buffer.from(b));
      expect([a, b, Math.sign(compareKeys(a, b))]).toEqual([a, b, bytes]);
    }
    expect(() =>
      parseRestoreRequest(sharded(['p/\uff21', 'p/\u{1f600}', 'p/\u{1f601}'])),
    ).not.toThrow();
  });

  it('does not change the derived name', () => {
    const plain = parseRestoreRequest({ ...sharded([]), shards: undefined });
    const withBounds = parseRestoreRequest(sharded(['p/b', 'p/d', 'p/f']));
    expect(restoreNameOf(withBounds)).toBe(restoreNameOf(plain));
  });
});
