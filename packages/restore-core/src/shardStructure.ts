/**
 * Shard bounds from the key space's structure, for a prefix too large to list whole while a restore
 * is created: a delimiter listing (Delimiter '/') of the prefix gives its common prefixes
 * ("directories") and its top-level objects in key order, in a few pages; the bounds split those
 * entries evenly, each top-level entry counting as one share of the work. When there are too few
 * entries to split well, the listing descends into the heaviest common prefixes, one at a time,
 * within the same page budget (boundsFromStructure). With fewer entries than shards, a top level
 * past the budget, or a server that does not list in S3's order, there are no bounds (the Job's
 * shards then split the keys by hash).
 *
 * Why an entry is a good bound: the job gives shard i the keys in (bounds[i-1], bounds[i]] in S3's
 * key order (job-image/src/shard.ts rangeOf). Every key under a common prefix C is C followed by
 * more characters, so it sorts after C; and an entry E that follows C in the listing does not start
 * with C, so it differs from C within C's length, and is larger there: every key under C sorts
 * before E. The key space in order is therefore entry, its keys, next entry, its keys, and so on:
 * with C as a bound, C's keys go to the next shard whole, and each shard gets the subtrees of about
 * entries / shards consecutive entries.
 *
 * Why bounds cannot lose or repeat a key: for any strictly ascending b1 < ... < bn (the request's
 * schema refuses others), the ranges (-inf, b1], (b1, b2], ..., (bn, +inf) partition the totally
 * ordered key space, whatever strings the bounds are and whether or not they are keys. The bounds
 * chosen here only decide how even the shards are; every key is restored by exactly one shard.
 */
import {
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { compareKeys, type RestoreSource } from '@kube-restore/common';
import picomatch from 'picomatch/posix';

/** What the key space's structure is listed by. */
export const DELIMITER = '/';

/**
 * Entries wanted per shard at least before they are split: with fewer, one large directory decides
 * a shard's length; with a few per shard, their differences average out somewhat.
 */
export const ENTRIES_PER_SHARD = 4;

/**
 * shards - 1 of the sorted, distinct `entries`, splitting them into runs of about equal length
 * (bound j ends run j: the entries before it, and its own key when it is an object). Undefined for
 * one shard or fewer than minPerShard x shards entries.
 */
export function boundsFromEntries(
  entries: readonly string[],
  shards: number,
  minPerShard = ENTRIES_PER_SHARD,
): string[] | undefined {
  if (!Number.isInteger(minPerShard) || minPerShard < 1)
    throw new RangeError(
      `minPerShard must be a positive integer (got ${minPerShard})`,
    );
  if (entries.length < minPerShard * shards && shards > 1) {
    checkShards(shards);
    return undefined;
  }
  return boundsFromWeighted(
    entries.map(key => ({ key, weight: 1 })),
    shards,
  );
}

function checkShards(shards: number): void {
  if (!Number.isInteger(shards) || shards < 1)
    throw new RangeError(`shards must be a positive integer (got ${shards})`);
}

/** An entry of the structure and its share of the work (see structureBounds). */
export interface WeightedEntry {
  key: string;
  weight: number;
}

/**
 * shards - 1 of the sorted, distinct entries, cutting their running weight into about equal
 * parts: a common prefix as a bound cuts before its own weight (its keys go to the next shard), an
 * object after it. The bounds are distinct entries past the first, so at least `shards` entries are
 * needed; undefined for fewer, or for one shard.
 */
export function boundsFromWeighted(
  entries: readonly WeightedEntry[],
  shards: number,
): string[] | undefined {
  checkShards(shards);
  for (let i = 1; i < entries.length; i++)
    if (compareKeys(entries[i - 1].key, entries[i].key) >= 0)
      throw new RangeError(
        `entries must ascend strictly in S3's key order ("${entries[i].key}" after "${entries[i - 1].key}")`,
      );
  const n = entries.length;
  if (shards <= 1 || n < shards) return undefined;
  // Where a bound at entry i cuts the running weight.
  const cuts: number[] = [];
  let total = 0;
  for (const { key, weight } of entries) {
    if (!(weight > 0) || !Number.isFinite(weight))
      throw new RangeError(
        `weight of "${key}" must be positive (got ${weight})`,
      );
    cuts.push(key.endsWith(DELIMITER) ? total : total + weight);
    total += weight;
  }
  const out: string[] = [];
  let previous = 0;
  for (let j = 1; j < shards; j++) {
    const target = (total * j) / shards;
    // Room for the bounds still to come, each on a later entry.
    const lowest = previous + 1;
    const highest = n - (shards - j);
    let pick = lowest;
    while (pick < highest && cuts[pick] < target - total * 1e-9) pick++;
    // The nearer of the first entry reaching the target and the one before it; ties (within
    // rounding: shares below a prefix are fractions) go up.
    if (
      pick > lowest &&
      target - cuts[pick - 1] < cuts[pick] - target - total * 1e-9
    )
      pick--;
    out.push(entries[pick].key);
    previous = pick;
  }
  return out;
}

/** One page of a delimiter listing, as the server gave it. */
export interface StructurePage {
  /** CommonPrefixes, in the server's order. */
  prefixes: string[];
  /** Contents' keys (Versions' keys for asOf: a key once per version), in the server's order. */
  keys: string[];
  /** Where the next page starts; undefined on the last page. */
  next?: unknown;
}

/** Pages of the delimiter listing of a prefix: `cursor` is undefined or a page's `next`. */
export interface StructurePages {
  /** Versions: a key may come several times in a row (and across pages). */
  versions: boolean;
  page(prefix: string, cursor: unknown): Promise<StructurePage>;
}

/** One level below a prefix: its common prefixes and its objects. */
interface Level {
  prefixes: string[];
  objects: string[];
}

export interface StructureOptions {
  /** ListObjectsV2 / ListObjectVersions requests allowed in all. */
  maxPages: number;
  /** Items per page (at most 1000). */
  pageSize?: number;
  signal?: AbortSignal;
  /** See ENTRIES_PER_SHARD. */
  minPerShard?: number;
}

/** The page budget, shared by every listing of one structureBounds call. */
interface Budget {
  left: number;
}

/**
 * Is `key` (a CommonPrefix when `isPrefix`) what a delimiter listing of `prefix` may return:
 * under `prefix`, a common prefix ending at its first delimiter past it, an object without one?
 */
function belongs(key: string, prefix: string, isPrefix: boolean): boolean {
  if (!key.startsWith(prefix)) return false;
  const at = key.indexOf(DELIMITER, prefix.length);
  return isPrefix ? at === key.length - 1 : at === -1;
}

/**
 * The common prefixes and objects right below `prefix`; 'budget' when listing them would take
 * more pages than the budget has left; 'unordered' when the server breaks S3's contract: an item
 * not under the prefix or not grouped by the delimiter, or items out of S3's key order within a
 * page (each of CommonPrefixes and Contents ascending) or across pages (every item after the
 * previous pages' last). The job's shards list their ranges in that order and stop at the first
 * key past their range: a server that does not keep it must not get ranges at all.
 */
async function listLevel(
  pages: StructurePages,
  prefix: string,
  budget: Budget,
): Promise<Level | 'budget' | 'unordered'> {
  const prefixes: string[] = [];
  const objects: string[] = [];
  /** The largest item so far, and whether it was an object's key. */
  let last: { key: string; object: boolean } | undefined;
  const after = (key: string, object: boolean) => {
    if (!last) return true;
    const c = compareKeys(last.key, key);
    // Versions: the same key again, right after itself.
    return c < 0 || (c === 0 && pages.versions && object && last.object);
  };
  let cursor: unknown;
  do {
    if (budget.left <= 0) return 'budget';
    budget.left--;
    const page = await pages.page(prefix, cursor);
    const first = [
      ...page.prefixes.slice(0, 1).map(key => ({ key, object: false })),
      ...page.keys.slice(0, 1).map(key => ({ key, object: true })),
    ];
    if (!first.every(f => after(f.key, f.object))) return 'unordered';
    let top = last;
    for (const [list, object] of [
      [page.prefixes, false],
      [page.keys, true],
    ] as const) {
      for (let i = 0; i < list.length; i++) {
        const key = list[i];
        if (!belongs(key, prefix, !object)) return 'unordered';
        if (i > 0) {
          const c = compareKeys(list[i - 1], key);
          if (c > 0 || (c === 0 && !(object && pages.versions)))
            return 'unordered';
        }
      }
      const end = list.at(-1);
      if (end !== undefined && (!top || compareKeys(top.key, end) < 0))
        top = { key: end, object };
    }
    for (const p of page.prefixes) if (prefixes.at(-1) !== p) prefixes.push(p);
    // A folder marker equal to the listed prefix is the directory itself, already an entry.
    for (const k of page.keys)
      if (k !== prefix && objects.at(-1) !== k) objects.push(k);
    last = top;
    cursor = page.next;
  } while (cursor !== undefined);
  return { prefixes, objects };
}

/** The delimiter listing of `source`'s bucket through `client` (versions for asOf). */
export function s3StructurePages(
  client: S3Client,
  source: RestoreSource,
  options: Pick<StructureOptions, 'pageSize' | 'signal'> = {},
): StructurePages {
  const request = { abortSignal: options.signal };
  const base = (prefix: string) => ({
    Bucket: source.bucket,
    Prefix: prefix || undefined,
    Delimiter: DELIMITER,
    MaxKeys: options.pageSize ?? 1000,
  });
  const prefixesOf = (page: { CommonPrefixes?: Array<{ Prefix?: string }> }) =>
    (page.CommonPrefixes ?? []).flatMap(p => (p.Prefix ? [p.Prefix] : []));
  if (source.asOf)
    return {
      versions: true,
      async page(prefix, cursor) {
        const marker = cursor as { key?: string; version?: string } | undefined;
        const page = await client.send(
          new ListObjectVersionsCommand({
            ...base(prefix),
            KeyMarker: marker?.key,
            VersionIdMarker: marker?.version,
          }),
          request,
        );
        return {
          prefixes: prefixesOf(page),
          keys: (page.Versions ?? []).flatMap(v => (v.Key ? [v.Key] : [])),
          next:
            page.IsTruncated && page.NextKeyMarker
              ? { key: page.NextKeyMarker, version: page.NextVersionIdMarker }
              : undefined,
        };
      },
    };
  return {
    versions: false,
    async page(prefix, cursor) {
      const page = await client.send(
        new ListObjectsV2Command({
          ...base(prefix),
          ContinuationToken: cursor as string | undefined,
        }),
        request,
      );
      return {
        prefixes: prefixesOf(page),
        keys: (page.Contents ?? []).flatMap(o => (o.Key ? [o.Key] : [])),
        next: page.IsTruncated ? page.NextContinuationToken : undefined,
      };
    },
  };
}

/** Where a picomatch glob stops being a literal string (a wildcard, class, brace, extglob, escape). */
const GLOB_SYNTAX = /[*?[\]{}()!+@\\]/;

/**
 * The longest literal start every include glob shares ('' without globs): every key the restore
 * keeps starts with prefix + it, so the structure under it is the structure of the work. With
 * `include: ['2026-12-05/**']` under 365 date folders, the bounds then split that one folder
 * instead of putting it whole into one shard.
 */
export function globsStart(include: readonly string[] = []): string {
  if (include.length === 0) return '';
  const starts = include.map(glob => {
    // picomatch's own reading: a negated glob keeps keys anywhere, a leading `./` is no part of
    // the keys it matches.
    const { prefix, negated, negatedExtglob } = picomatch.scan(glob);
    if (negated || negatedExtglob) return '';
    const rest = glob.slice(prefix.length);
    const at = GLOB_SYNTAX.exec(rest)?.index;
    return at === undefined ? rest : rest.slice(0, at);
  });
  const common = starts.reduce((shared, start) => {
    let n = 0;
    while (n < shared.length && n < start.length && shared[n] === start[n]) n++;
    return shared.slice(0, n);
  });
  // Not half of a character: two globs may share only the first half of a surrogate pair.
  return /[\ud800-\udbff]$/.test(common) ? common.slice(0, -1) : common;
}

/**
 * Bounds for `shards` shards of `source` (a prefix) from its delimiter listing (see
 * boundsFromStructure), below its include globs' literal start (globsStart). S3 errors are thrown
 * as the SDK gives them.
 */
export async function structureBounds(
  client: S3Client,
  source: RestoreSource,
  shards: number,
  options: StructureOptions,
): Promise<string[] | undefined> {
  return boundsFromStructure(
    s3StructurePages(client, source, options),
    (source.prefix ?? '') + globsStart(source.include),
    shards,
    options,
  );
}

/**
 * Bounds for `shards` shards of `prefix` from its delimiter listing. Each entry carries a share of
 * the work: the top level's entries one each, and an entry listed below a common prefix an equal
 * part of that prefix's share. While there are fewer than minPerShard x shards entries, the
 * heaviest common prefix (the first in key order among equals) is replaced by what is right below
 * it, one listing at a time, so the descent goes only as far as needed and the other prefixes stay
 * whole. When the budget runs out during a prefix's listing, that prefix stays whole and the
 * entries so far are split, if there are at least `shards` of them. Undefined when the top level
 * does not fit the budget, for fewer than `shards` entries, and for a server that does not list
 * in S3's order (listLevel).
 */
export async function boundsFromStructure(
  pages: StructurePages,
  prefix: string,
  shards: number,
  options: Pick<StructureOptions, 'maxPages' | 'minPerShard'>,
): Promise<string[] | undefined> {
  checkShards(shards);
  if (shards <= 1) return undefined;
  const need = (options.minPerShard ?? ENTRIES_PER_SHARD) * shards;
  const budget: Budget = { left: options.maxPages };
  const top = await listLevel(pages, prefix, budget);
  if (top === 'budget' || top === 'unordered') return undefined;
  const weights = new Map<string, number>();
  const add = (level: Level, weight: number) => {
    const each = weight / (level.prefixes.length + level.objects.length);
    for (const key of [...level.prefixes, ...level.objects])
      weights.set(key, (weights.get(key) ?? 0) + each);
  };
  add(top, top.prefixes.length + top.objects.length);
  /** Common prefixes not yet listed, heaviest first (equal ones in key order). */
  const open = [...top.prefixes];
  const order = (a: string, b: string) =>
    weights.get(b)! - weights.get(a)! || compareKeys(a, b);
  while (weights.size < need && open.length > 0) {
    open.sort(order);
    const next = open.shift()!;
    const level = await listLevel(pages, next, budget);
    if (level === 'unordered') return undefined;
    if (level === 'budget') break;
    // An empty listing (the prefix vanished meanwhile): it stays an entry.
    if (level.prefixes.length + level.objects.length === 0) continue;
    const weight = weights.get(next)!;
    weights.delete(next);
    add(level, weight);
    open.push(...level.prefixes);
  }
  const entries = [...weights]
    .map(([key, weight]) => ({ key, weight }))
    .sort((a, b) => compareKeys(a.key, b.key));
  return boundsFromWeighted(entries, shards);
}
