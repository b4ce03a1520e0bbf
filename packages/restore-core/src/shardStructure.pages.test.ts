/**
 * boundsFromStructure (pure) over a fake page source: the server's order is checked page by page
 * and across pages, the descent stops once there are enough entries, and a budget that runs out
 * during the descent still gives bounds from the entries listed so far.
 */
import type { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { compareKeys, parseRestoreRequest } from '@kube-restore/common';
import {
  boundsFromStructure,
  globsStart,
  structureBounds,
  type StructurePage,
  type StructurePages,
} from './shardStructure';

/** A listing served from fixed pages per prefix; `calls` records each page asked for. */
function fakePages(
  byPrefix: Record<string, StructurePage[]>,
  versions = false,
): StructurePages & { calls: string[] } {
  const calls: string[] = [];
  return {
    versions,
    calls,
    async page(prefix, cursor) {
      calls.push(prefix);
      const pages = byPrefix[prefix] ?? [{ prefixes: [], keys: [] }];
      const i = (cursor as number | undefined) ?? 0;
      return { ...pages[i], next: i + 1 < pages.length ? i + 1 : undefined };
    },
  };
}

const pad = (i: number, n = 3) => String(i).padStart(n, '0');
const folders = (under: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${under}f${pad(i)}/`);

function expectAscending(bounds: string[]) {
  for (let i = 1; i < bounds.length; i++)
    expect(compareKeys(bounds[i - 1], bounds[i])).toBeLessThan(0);
}

describe('boundsFromStructure: the server order', () => {
  const budget = { maxPages: 10, minPerShard: 1 };
  const ordered = {
    'p/': [
      { prefixes: ['p/a/', 'p/c/'], keys: ['p/b', 'p/d'] },
      { prefixes: ['p/f/'], keys: ['p/e', 'p/g'] },
    ],
  };

  it('splits a listing that keeps S3 order', async () => {
    expect(
      await boundsFromStructure(fakePages(ordered), 'p/', 2, budget),
    ).toEqual(['p/d']);
  });

  it.each([
    [
      'Contents out of order in a page',
      [{ prefixes: ['p/a/'], keys: ['p/c', 'p/b'] }],
    ],
    [
      'CommonPrefixes out of order in a page',
      [{ prefixes: ['p/c/', 'p/a/'], keys: ['p/b'] }],
    ],
    ['a repeated key', [{ prefixes: ['p/a/'], keys: ['p/b', 'p/b', 'p/c'] }]],
    [
      'a page starting before the last page ended (Contents)',
      [
        { prefixes: ['p/a/'], keys: ['p/d'] },
        { prefixes: ['p/f/'], keys: ['p/c'] },
      ],
    ],
    [
      "a page whose CommonPrefix sorts before the last page's key",
      [
        { prefixes: ['p/a/'], keys: ['p/d'] },
        { prefixes: ['p/b/'], keys: ['p/e', 'p/f'] },
      ],
    ],
    [
      'a key not under the prefix',
      [{ prefixes: ['p/a/'], keys: ['p/b', 'q/c'] }],
    ],
    [
      'a key not grouped by the delimiter',
      [{ prefixes: ['p/a/'], keys: ['p/b/x', 'p/c'] }],
    ],
    [
      'a CommonPrefix past the first delimiter',
      [{ prefixes: ['p/a/b/'], keys: ['p/b', 'p/c'] }],
    ],
  ])('gives no bounds for %s', async (_, pages) => {
    expect(
      await boundsFromStructure(fakePages({ 'p/': pages }), 'p/', 2, budget),
    ).toBeUndefined();
  });

  it('checks the order of the levels it descends into', async () => {
    const pages = {
      'p/': [{ prefixes: ['p/a/'], keys: [] }],
      'p/a/': [{ prefixes: [], keys: ['p/a/2', 'p/a/1', 'p/a/3'] }],
    };
    expect(
      await boundsFromStructure(fakePages(pages), 'p/', 2, budget),
    ).toBeUndefined();
    pages['p/a/'][0].keys.sort();
    expect(
      await boundsFromStructure(fakePages(pages), 'p/', 2, budget),
    ).toEqual(['p/a/2']);
  });

  it('lets versions repeat a key, within and across pages', async () => {
    const pages = {
      'p/': [
        { prefixes: ['p/a/'], keys: ['p/b', 'p/b', 'p/c'] },
        { prefixes: [], keys: ['p/c', 'p/d'] },
      ],
    };
    expect(
      await boundsFromStructure(fakePages(pages, true), 'p/', 2, budget),
    ).toEqual(['p/b']);
    expect(
      await boundsFromStructure(fakePages(pages, false), 'p/', 2, budget),
    ).toBeUndefined();
  });
});

describe('boundsFromStructure: the descent and its budget', () => {
  /** 200 folders, each with 10 sub-folders. */
  const tree: Record<string, StructurePage[]> = {
    'p/': [{ prefixes: folders('p/', 200), keys: [] }],
  };
  for (const f of folders('p/', 200))
    tree[f] = [{ prefixes: folders(f, 10), keys: [] }];
  const request = (bounds: string[]) =>
    parseRestoreRequest({
      source: { bucket: 'bucket', prefix: 'p/' },
      target: { namespace: 'ns', pvc: 'data', size: '1Gi' },
      options: { parallelism: 64 },
      shards: { bounds },
    }).shards?.bounds;

  it('gives 64 shards bounds over 200 folders when the budget runs out in the descent', async () => {
    const pages = fakePages(tree);
    const bounds = await boundsFromStructure(pages, 'p/', 64, { maxPages: 3 });
    // The top level, two folders, then no page left for the third.
    expect(pages.calls).toEqual(['p/', 'p/f000/', 'p/f001/']);
    expect(bounds).toHaveLength(63);
    expectAscending(bounds!);
    expect(request(bounds!)).toEqual(bounds);
    // Each folder is one share of the work, its sub-folders a tenth each: about 200 / 64 folders
    // per shard, whichever level the bounds come from.
    const share = new Array(64).fill(0);
    for (const f of folders('p/', 200))
      for (const s of folders(f, 10)) {
        const i = bounds!.findIndex(b => compareKeys(`${s}k`, b) <= 0);
        share[i === -1 ? 63 : i] += 0.1;
      }
    for (const s of share) expect(s).toBeGreaterThan(2.5);
    for (const s of share) expect(s).toBeLessThan(4.5);
  });

  it('descends only until there are 4 entries per shard', async () => {
    const pages = fakePages(tree);
    const bounds = await boundsFromStructure(pages, 'p/', 64, { maxPages: 20 });
    // 200 entries, + 9 per folder listed: 7 folders make 263 >= 256.
    expect(pages.calls).toHaveLength(8);
    expect(bounds).toHaveLength(63);
    expectAscending(bounds!);
    expect(request(bounds!)).toEqual(bounds);
    // Enough entries already: the top level alone.
    const few = fakePages(tree);
    expect(
      await boundsFromStructure(few, 'p/', 8, { maxPages: 20 }),
    ).toHaveLength(7);
    expect(few.calls).toEqual(['p/']);
  });

  it('cuts fractional shares as evenly as whole ones', async () => {
    const pages = fakePages({
      'p/': [{ prefixes: ['p/only/'], keys: [] }],
      'p/only/': [{ prefixes: folders('p/only/', 30), keys: [] }],
    });
    // Each sub-folder weighs 1/30: 7.5 of them per shard, ties going to the later one.
    expect(await boundsFromStructure(pages, 'p/', 4, { maxPages: 5 })).toEqual([
      'p/only/f008/',
      'p/only/f015/',
      'p/only/f023/',
    ]);
  });

  it('descends into the heaviest prefix first', async () => {
    const pages = fakePages({
      'p/': [{ prefixes: ['p/a/', 'p/b/'], keys: [] }],
      'p/a/': [{ prefixes: folders('p/a/', 2), keys: [] }],
      'p/b/': [{ prefixes: folders('p/b/', 3), keys: [] }],
      'p/a/f000/': [
        {
          prefixes: [],
          keys: ['p/a/f000/w', 'p/a/f000/x', 'p/a/f000/y', 'p/a/f000/z'],
        },
      ],
    });
    await boundsFromStructure(pages, 'p/', 2, { maxPages: 10, minPerShard: 4 });
    // p/a/'s two halves outweigh p/b/'s thirds.
    expect(pages.calls).toEqual(['p/', 'p/a/', 'p/b/', 'p/a/f000/']);
  });

  it('gives no bounds when the top level does not fit, or for fewer entries than shards', async () => {
    const big = fakePages({
      'p/': [
        { prefixes: folders('p/', 10), keys: [] },
        { prefixes: folders('p/g', 10), keys: [] },
      ],
    });
    expect(
      await boundsFromStructure(big, 'p/', 4, { maxPages: 1 }),
    ).toBeUndefined();
    const small = fakePages({ 'p/': [{ prefixes: [], keys: ['p/a', 'p/b'] }] });
    expect(
      await boundsFromStructure(small, 'p/', 4, { maxPages: 5 }),
    ).toBeUndefined();
  });
});

describe('globsStart and the include globs', () => {
  it('is the literal start all include globs share', () => {
    expect(globsStart()).toBe('');
    expect(globsStart(['2026-12-05/**'])).toBe('2026-12-05/');
    expect(globsStart(['2026-12-05/**', '2026-12-06/*.bin'])).toBe('2026-12-0');
    expect(globsStart(['logs/a.txt'])).toBe('logs/a.txt');
    expect(globsStart(['a/**', '**/b'])).toBe('');
    expect(globsStart(['{a,b}/**'])).toBe('');
    expect(globsStart(['!(x)/**'])).toBe('');
    expect(globsStart(['a\\*b/**'])).toBe('a');
    expect(globsStart(['./logs/**'])).toBe('logs/');
    expect(globsStart(['!logs/**'])).toBe('');
    expect(globsStart(['x[ab]/**', 'x?/**'])).toBe('x');
    // '\u{1f600}' and '\u{1f601}' share their first UTF-16 unit only.
    expect(globsStart(['d/\u{1f600}/**', 'd/\u{1f601}/**'])).toBe('d/');
  });

  it('lists the structure below the include globs, not the whole prefix', async () => {
    // 365 date folders; only one is restored, with 40 hour folders in it.
    const asked: Array<string | undefined> = [];
    const client = {
      async send(command: ListObjectsV2Command) {
        const prefix = command.input.Prefix ?? '';
        asked.push(prefix);
        const under =
          prefix === 'p/'
            ? Array.from({ length: 365 }, (_, i) => `p/d${pad(i)}/`)
            : Array.from({ length: 40 }, (_, i) => `${prefix}h${pad(i, 2)}/`);
        return { CommonPrefixes: under.map(Prefix => ({ Prefix })) };
      },
    } as unknown as S3Client;
    const sourceOf = (include: string[]) =>
      parseRestoreRequest({
        source: { bucket: 'bucket', prefix: 'p/', include },
        target: { namespace: 'ns', pvc: 'data', size: '1Gi' },
        options: { parallelism: 4 },
      }).source;
    const whole = await structureBounds(client, sourceOf([]), 4, {
      maxPages: 5,
    });
    expect(asked).toEqual(['p/']);
    const narrowed = await structureBounds(client, sourceOf(['d100/**']), 4, {
      maxPages: 5,
    });
    expect(asked.slice(1)).toEqual(['p/d100/']);
    // The whole prefix puts d100/ into one shard; the globs' start splits its hours.
    expect(whole?.every(b => !b.startsWith('p/d100/'))).toBe(true);
    expect(narrowed).toEqual(['p/d100/h10/', 'p/d100/h20/', 'p/d100/h30/']);
  });
});
