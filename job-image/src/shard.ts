/** Sharding of keys across the pods of an Indexed Job: a stable hash of the key's UTF-8 bytes. */

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

export function inShard(key: string, shard: Shard | undefined): boolean {
  return !shard || shardOf(key, shard.count) === shard.index;
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
