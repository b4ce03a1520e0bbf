/**
 * Sharding of keys across the pods of an Indexed Job. A request that carries shard bounds (core
 * chose them from a listing) gives each shard a key range, (bounds[i-1], bounds[i]], which it lists
 * alone. An older request without bounds shards by a stable hash of the key's UTF-8 bytes: every
 * shard then lists the whole prefix and keeps its share.
 */
import { compareKeys, type RestoreRequest } from '@kube-restore/common';

/** FNV-1a, 32 bits, over the UTF-8 bytes of `key`. Stable across Node versions and platforms. */
export function fnv1a32(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i];
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export interface Shard {
  index: number;
  count: number;
}

export function shardOf(key: string, count: number): number {
  return count <= 1 ? 0 : fnv1a32(key) % count;
}

/** The keys of one shard: after `after` (exclusive) up to `last` (inclusive); open where undefined. */
export interface KeyRange {
  after?: string;
  last?: string;
}

/** The shard's key range when the request carries bounds; undefined for one pod or hash sharding. */
export function rangeOf(
  shard: Shard | undefined,
  shards: RestoreRequest['shards'],
): KeyRange | undefined {
  if (!shard || !shards || shards.bounds.length !== shard.count - 1)
    return undefined;
  const { bounds } = shards;
  return {
    after: shard.index > 0 ? bounds[shard.index - 1] : undefined,
    last: shard.index < bounds.length ? bounds[shard.index] : undefined,
  };
}

export function inRange(key: string, range: KeyRange): boolean {
  return (
    (range.after === undefined || compareKeys(key, range.after) > 0) &&
    (range.last === undefined || compareKeys(key, range.last) <= 0)
  );
}

/** Is `key` this shard's: in its range when the request has bounds, else by hash. */
export function inShard(
  key: string,
  shard: Shard | undefined,
  shards?: RestoreRequest['shards'],
): boolean {
  if (!shard) return true;
  const range = rangeOf(shard, shards);
  return range
    ? inRange(key, range)
    : shardOf(key, shard.count) === shard.index;
}

/** The shard from JOB_COMPLETION_INDEX and the request's parallelism; undefined for one pod. */
export function shardFromEnv(
  env: NodeJS.ProcessEnv,
  parallelism: number,
): Shard | undefined {
  if (parallelism <= 1) return undefined;
  const raw = env.JOB_COMPLETION_INDEX;
  if (raw === undefined || !/^\d+$/.test(raw)) {
    throw new Error(
      `parallelism is ${parallelism} but JOB_COMPLETION_INDEX is ${raw === undefined ? 'not set' : `"${raw}"`}`,
    );
  }
  const index = Number(raw);
  if (index >= parallelism)
    throw new Error(
      `JOB_COMPLETION_INDEX ${index} is not below parallelism ${parallelism}`,
    );
  return { index, count: parallelism };
}
