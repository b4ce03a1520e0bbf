/**
 * Shard bounds from the key space's structure, for a prefix too large to list whole while a restore
 * is created: a delimiter listing (Delimiter '/') of the prefix gives its common prefixes
 * ("directories") and its top-level objects in key order, in a few pages; the bounds split those
 * entries evenly by count. When there are too few entries to split well, the listing descends one
 * level into the common prefixes, and again, within the same page budget; past the budget, or with
 * no structure to split, there are no bounds (the Job's shards then split the keys by hash).
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
  if (!Number.isInteger(shards) || shards < 1)
    throw new RangeError(`shards must be a positive integer (got ${shards})`);
  if (!Number.isInteger(minPerShard) || minPerShard < 1)
    throw new RangeError(
      `minPerShard must be a positive integer (got ${minPerShard})`,
    );
  for (let i = 1; i < entries.length; i++)
    if (compareKeys(entries[i - 1], entries[i]) >= 0)
      throw new RangeError(
        `entries must ascend strictly in S3's key order ("${entries[i]}" after "${entries[i - 1]}")`,
      );
  const n = entries.length;
  if (shards <= 1 || n < minPerShard * shards) return undefined;
  // n >= shards x minPerShard: the indices ascend strictly and lie in [1, n - 1].
  return Array.from(
    { length: shards - 1 },
    (_, i) => entries[Math.round(((i + 1) * n) / shards)],
  );
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
 * The common prefixes and objects right below `prefix` (objects as of source.asOf with versions),
 * or undefined when listing them would take more pages than the budget has left.
 */
async function listLevel(
  client: S3Client,
  source: RestoreSource,
  prefix: string,
  budget: Budget,
  options: StructureOptions,
): Promise<Level | undefined> {
  const prefixes: string[] = [];
  const objects: string[] = [];
  const keep = (key: string | undefined) => {
    // A folder marker equal to the listed prefix is the directory itself, already an entry.
    if (key !== undefined && key !== prefix && objects.at(-1) !== key)
      objects.push(key);
  };
  const base = {
    Bucket: source.bucket,
    Prefix: prefix || undefined,
    Delimiter: DELIMITER,
    MaxKeys: options.pageSize ?? 1000,
  };
  const request = { abortSignal: options.signal };
  let more = true;
  let token: string | undefined;
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  while (more) {
    if (budget.left <= 0) return undefined;
    budget.left--;
    if (source.asOf) {
      const page = await client.send(
        new ListObjectVersionsCommand({
          ...base,
          KeyMarker: keyMarker,
          VersionIdMarker: versionMarker,
        }),
        request,
      );
      for (const p of page.CommonPrefixes ?? [])
        if (p.Prefix) prefixes.push(p.Prefix);
      // Versions come newest first per key; a key is one entry however many versions it has.
      for (const v of page.Versions ?? []) keep(v.Key);
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
      more = keyMarker !== undefined;
    } else {
      const page = await client.send(
        new ListObjectsV2Command({ ...base, ContinuationToken: token }),
        request,
      );
      for (const p of page.CommonPrefixes ?? [])
        if (p.Prefix) prefixes.push(p.Prefix);
      for (const o of page.Contents ?? []) keep(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      more = token !== undefined;
    }
  }
  return { prefixes, objects };
}

/** Sorted and without repeats, in S3's key order. */
function sortedDistinct(keys: Iterable<string>): string[] {
  return [...new Set(keys)].sort(compareKeys);
}

/**
 * Bounds for `shards` shards of `source` (a prefix) from its delimiter listing, descending into
 * the common prefixes while there are too few entries to split; undefined when the budget runs out
 * first or the structure has too few entries. S3 errors are thrown as the SDK gives them.
 */
export async function structureBounds(
  client: S3Client,
  source: RestoreSource,
  shards: number,
  options: StructureOptions,
): Promise<string[] | undefined> {
  if (shards <= 1) return undefined;
  const need = (options.minPerShard ?? ENTRIES_PER_SHARD) * shards;
  const budget: Budget = { left: options.maxPages };
  const top = await listLevel(
    client,
    source,
    source.prefix ?? '',
    budget,
    options,
  );
  if (!top) return undefined;
  let prefixes = top.prefixes;
  let objects = top.objects;
  while (prefixes.length + objects.length < need) {
    if (prefixes.length === 0) return undefined;
    // One level down: each common prefix is replaced by what is right below it.
    const below: Level = { prefixes: [], objects: [...objects] };
    for (const prefix of prefixes) {
      const level = await listLevel(client, source, prefix, budget, options);
      if (!level) return undefined;
      below.prefixes.push(...level.prefixes);
      below.objects.push(...level.objects);
    }
    prefixes = below.prefixes;
    objects = below.objects;
  }
  return boundsFromEntries(
    sortedDistinct([...prefixes, ...objects]),
    shards,
    options.minPerShard,
  );
}
