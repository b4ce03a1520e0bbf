/**
 * ShardBoundsSampler (pure logic) and withShardBounds over a fake S3 client that pages a sorted
 * table as ListObjectsV2 does. The job's side, listing only its range against MinIO with the LIST
 * requests counted: job-image/src/shardRanges.minio.test.ts.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { compareKeys, parseRestoreRequest } from '@kube-restore/common';
import { buildRestoreManifests } from './manifests';
import {
  DEFAULT_SAMPLE_CAPACITY,
  PER_OBJECT_COST,
  ShardBoundsSampler,
  listShardBounds,
  sizeRequest,
  withShardBounds,
} from './shardBounds';

const keyOf = (i: number) => `p/${String(i).padStart(7, '0')}`;

/** The shard each key falls in, by the bounds: (bounds[i-1], bounds[i]]. */
function shardOfKey(key: string, bounds: string[]): number {
  const i = bounds.findIndex(b => compareKeys(key, b) <= 0);
  return i === -1 ? bounds.length : i;
}

function sampleOf(
  shards: number,
  objects: Array<[string, number]>,
  capacity?: number,
) {
  const sampler = new ShardBoundsSampler(shards, capacity);
  for (const [key, size] of objects) sampler.add(key, size);
  return sampler;
}

describe('ShardBoundsSampler', () => {
  it('splits equal objects into equal shares, within 2/capacity of the ideal', () => {
    const n = 20_000;
    const objects = Array.from(
      { length: n },
      (_, i) => [keyOf(i), 4096] as [string, number],
    );
    const bounds = sampleOf(4, objects).bounds()!;
    expect(bounds).toHaveLength(3);
    const counts = [0, 0, 0, 0];
    for (const [key] of objects) counts[shardOfKey(key, bounds)]++;
    const slack = Math.ceil((2 * n) / DEFAULT_SAMPLE_CAPACITY);
    for (const c of counts)
      expect(Math.abs(c - n / 4)).toBeLessThanOrEqual(slack);
    expect(counts.reduce((a, b) => a + b)).toBe(n);
  });

  it('weighs bytes and a per-object cost: a few large objects against many small ones', () => {
    // 10 objects of 2 GiB, then 40,000 of 1 KiB (about 10 GiB with the per-object cost): the
    // middle by weight is among the large objects, not at the middle of the count.
    const large = Array.from(
      { length: 10 },
      (_, i) => [`p/a/${i}`, 2 * 1024 ** 3] as [string, number],
    );
    const small = Array.from(
      { length: 40_000 },
      (_, i) => [`p/b/${String(i).padStart(6, '0')}`, 1024] as [string, number],
    );
    const objects = [...large, ...small];
    const bounds = sampleOf(2, objects).bounds()!;
    const weight = [0, 0];
    for (const [key, size] of objects)
      weight[shardOfKey(key, bounds)] += size + PER_OBJECT_COST;
    const total = weight[0] + weight[1];
    expect(weight[0] / total).toBeGreaterThan(0.45);
    expect(weight[0] / total).toBeLessThan(0.55);
    expect(bounds[0].startsWith('p/a/')).toBe(true);
  });

  it('holds at most `capacity` keys whatever the count, and is deterministic', () => {
    const objects = Array.from(
      { length: 100_000 },
      (_, i) => [keyOf(i), (i * 7919) % 100_000] as [string, number],
    );
    const a = sampleOf(8, objects, 256);
    expect(a.size).toBeLessThanOrEqual(256);
    expect(a.size).toBeGreaterThan(64);
    const bounds = a.bounds()!;
    expect(bounds).toEqual(sampleOf(8, objects, 256).bounds());
    for (let i = 1; i < bounds.length; i++)
      expect(compareKeys(bounds[i - 1], bounds[i])).toBeLessThan(0);
  });

  it('gives strictly ascending bounds even with fewer objects than shards', () => {
    const bounds = sampleOf(4, [
      ['p/x', 10],
      ['p/y', 10],
    ]).bounds()!;
    expect(bounds).toHaveLength(3);
    expect(bounds.slice(0, 2)).toEqual(['p/x', 'p/y']);
    expect(bounds[2]).toBe('p/y\u0001');
    // The request schema accepts them.
    expect(
      parseRestoreRequest({
        source: { bucket: 'bkt', prefix: 'p/' },
        target: { namespace: 'ns', pvc: 'data' },
        options: { parallelism: 4 },
        shards: { bounds },
      }).shards?.bounds,
    ).toEqual(bounds);
  });

  it('one large object does not repeat a bound', () => {
    const bounds = sampleOf(4, [
      ['p/a', 1],
      ['p/b', 10 * 1024 ** 3],
      ['p/c', 1],
      ['p/d', 1],
    ]).bounds()!;
    expect(new Set(bounds).size).toBe(3);
    for (let i = 1; i < bounds.length; i++)
      expect(compareKeys(bounds[i - 1], bounds[i])).toBeLessThan(0);
  });

  it('gives none for one shard, nothing listed, or keys out of order', () => {
    expect(sampleOf(1, [['p/a', 1]]).bounds()).toBeUndefined();
    expect(sampleOf(4, []).bounds()).toBeUndefined();
    expect(
      sampleOf(2, [
        ['p/b', 1],
        ['p/a', 1],
      ]).bounds(),
    ).toBeUndefined();
  });

  it('refuses a shard count or capacity that makes no sense', () => {
    expect(() => new ShardBoundsSampler(0)).toThrow(/shards must be/);
    expect(() => new ShardBoundsSampler(2, 1)).toThrow(/capacity/);
  });
});

/** ListObjectsV2 over sorted keys, in pages, counting the requests. */
function pagedS3(keys: string[]) {
  const sorted = [...keys].sort(compareKeys);
  let lists = 0;
  const client = {
    async send(command: ListObjectsV2Command) {
      lists++;
      const input = command.input;
      const matching = sorted.filter(k => k.startsWith(input.Prefix ?? ''));
      const start = Number(input.ContinuationToken ?? 0);
      const page = matching.slice(start, start + (input.MaxKeys ?? 1000));
      const next = start + page.length;
      return {
        Contents: page.map(k => ({ Key: k, Size: 100 })),
        IsTruncated: next < matching.length,
        NextContinuationToken: String(next),
      };
    },
    destroy() {},
  };
  return { client: client as unknown as S3Client, lists: () => lists };
}

describe('withShardBounds', () => {
  const request = (parallelism: number, extra: object = {}) =>
    parseRestoreRequest({
      source: { bucket: 'bkt', prefix: 'p/', exclude: ['*.tmp'] },
      target: { namespace: 'ns', pvc: 'data', size: '1Gi' },
      options: { parallelism },
      ...extra,
    });

  it('lists once, like sizing, and the Job carries bounds over the kept keys', async () => {
    const keys = Array.from({ length: 3000 }, (_, i) => keyOf(i));
    keys.push('p/zzz.tmp');
    const s3 = pagedS3(keys);
    const bounds = await listShardBounds(request(3).source, 3, {
      client: s3.client,
    });
    expect(s3.lists()).toBe(4);
    expect(bounds).toHaveLength(2);
    const counts = [0, 0, 0];
    for (const k of keys.slice(0, 3000)) counts[shardOfKey(k, bounds!)]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(10);
  });

  it('sizes and samples in one listing for --size auto', async () => {
    const keys = Array.from({ length: 2500 }, (_, i) => keyOf(i));
    const s3 = pagedS3(keys);
    const sized = await sizeRequest(request(2), { client: s3.client });
    expect(s3.lists()).toBe(3);
    expect(sized.size.objects).toBe(2500);
    expect(sized.request.shards?.bounds).toHaveLength(1);
    // createRestore then has nothing to list.
    const manifests = buildRestoreManifests(sized.request);
    expect(await withShardBounds(sized.request, manifests, {})).toBe(manifests);
    expect(manifests.job.metadata?.annotations).toBeDefined();
    expect(
      JSON.parse(
        manifests.job.metadata!.annotations!['kube-restore.io/request'],
      ).shards.bounds,
    ).toEqual(sized.request.shards!.bounds);
    // One shard: sized, no bounds.
    const single = await sizeRequest(request(1), { client: s3.client });
    expect(single.request.shards).toBeUndefined();
  });

  it('leaves a request without shards, with bounds, or whose source cannot be listed as it is', async () => {
    const one = request(1);
    const m1 = buildRestoreManifests(one);
    expect(await withShardBounds(one, m1, {})).toBe(m1);
    const given = request(2, { shards: { bounds: ['p/m'] } });
    const m2 = buildRestoreManifests(given);
    expect(await withShardBounds(given, m2, {})).toBe(m2);
    // No server answers here: the Job falls back to hash sharding.
    const unreachable = parseRestoreRequest({
      source: {
        bucket: 'bkt',
        prefix: 'p/',
        endpoint: 'http://127.0.0.1:9',
      },
      target: { namespace: 'ns', pvc: 'data', size: '1Gi' },
      options: { parallelism: 2 },
    });
    const m3 = buildRestoreManifests(unreachable);
    const out = await withShardBounds(unreachable, m3, {
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    });
    expect(out).toBe(m3);
  });
});
