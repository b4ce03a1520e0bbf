/*
 * Shard bounds chosen within a LIST page budget (core's listShardBounds) against a real MinIO, with
 * every LIST request counted by a middleware on the S3 client: a prefix that fits the budget gets
 * exact bounds from its full listing; a larger one gets them from its delimiter listing (one page
 * here), or one level further down when its top level is too coarse; a flat prefix past the budget
 * gets none (the Job then shards by hash). The bounds are checked against the request schema, and
 * the shards' ranges, by the job's rule, against the real listing: every key in exactly one shard.
 */
import {
  CreateBucketCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  compareKeys,
  parseRestoreRequest,
  type RestoreRequest,
} from '@kube-restore/common';
import {
  DEFAULT_BOUNDS_PAGE_BUDGET,
  createS3Client,
  listShardBounds,
  withShardBounds,
  buildRestoreManifests,
} from '@kube-restore/core';
import { S3Server, startS3Server } from '@kube-restore/test-cluster';

jest.setTimeout(180_000);

const BUCKET = 'structure';
const VERSIONED = 'structure-v';
const pad = (i: number, n = 2) => String(i).padStart(n, '0');
/** 3,000 objects under 30 prefixes. */
const TREE = Array.from(
  { length: 3000 },
  (_, i) => `tree/p${pad(Math.floor(i / 100))}/k${pad(i % 100, 3)}.bin`,
);
/** 300 objects, 30 prefixes one level below a single top-level prefix. */
const DEEP = Array.from(
  { length: 300 },
  (_, i) => `deep/only/p${pad(Math.floor(i / 10))}/k${i % 10}.bin`,
);
/** 250 objects and no structure. */
const FLAT = Array.from({ length: 250 }, (_, i) => `flat/k${pad(i, 3)}.bin`);

let s3: S3Server;
let admin: S3Client;

beforeAll(async () => {
  s3 = await startS3Server();
  admin = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: {
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    },
  });
  await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await admin.send(new CreateBucketCommand({ Bucket: VERSIONED }));
  await admin.send(
    new PutBucketVersioningCommand({
      Bucket: VERSIONED,
      VersioningConfiguration: { Status: 'Enabled' },
    }),
  );
  const puts: Array<[string, string]> = [
    ...[...TREE, ...DEEP, ...FLAT].map(k => [BUCKET, k] as [string, string]),
    ...Array.from(
      { length: 40 },
      (_, i) => [VERSIONED, `v/p${pad(i % 20)}/k${i}.bin`] as [string, string],
    ),
  ];
  let next = 0;
  const worker = async () => {
    while (next < puts.length) {
      const [Bucket, Key] = puts[next++];
      await admin.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
});

afterAll(async () => {
  admin?.destroy();
  await s3?.stop();
});

function request(
  prefix: string,
  parallelism: number,
  extra: { bucket?: string; asOf?: string } = {},
): RestoreRequest {
  return parseRestoreRequest({
    source: {
      bucket: extra.bucket ?? BUCKET,
      prefix,
      endpoint: s3.endpoint,
      region: s3.region,
      pathStyle: true,
      ...(extra.asOf ? { asOf: extra.asOf } : {}),
    },
    target: { namespace: 'ns', pvc: 'data', size: '1Gi' },
    options: { parallelism },
  });
}

/** A client for `source` whose LIST requests (of either kind) are counted. */
function countingClient(source: RestoreRequest['source']) {
  const client = createS3Client(source, {
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
  const lists: string[] = [];
  client.middlewareStack.add(
    (next, context) => async args => {
      if (/^List/.test(context.commandName ?? ''))
        lists.push(context.commandName!);
      return next(args);
    },
    { step: 'initialize', name: 'countLists' },
  );
  return { client, lists };
}

/** Every key under `prefix`, listed apart (not counted). */
async function allKeys(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await admin.send(
      new ListObjectsV2Command({
        Bucket: BUCKET,
        Prefix: prefix,
        ContinuationToken: token,
      }),
    );
    keys.push(...(page.Contents ?? []).map(o => o.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/**
 * How many keys each shard restores by the job's rule (shard i takes (bounds[i-1], bounds[i]]),
 * failing unless every key falls in exactly one shard.
 */
function shareOf(keys: string[], bounds: string[]): number[] {
  const counts = new Array(bounds.length + 1).fill(0);
  for (const key of keys) {
    const owners = counts
      .map((_, i) => i)
      .filter(
        i =>
          (i === 0 || compareKeys(key, bounds[i - 1]) > 0) &&
          (i === bounds.length || compareKeys(key, bounds[i]) <= 0),
      );
    expect(owners).toHaveLength(1);
    counts[owners[0]]++;
  }
  return counts;
}

/** The request with these bounds still passes the schema (ascending, under the prefix). */
function accepted(req: RestoreRequest, bounds: string[]) {
  return parseRestoreRequest({ ...req, shards: { bounds } }).shards?.bounds;
}

describe('listShardBounds within a page budget', () => {
  it('takes bounds from the delimiter listing past the budget: 2 LISTs for 3,000 keys', async () => {
    const req = request('tree/', 4);
    const { client, lists } = countingClient(req.source);
    const bounds = await listShardBounds(req.source, 4, {
      client,
      maxPages: 1,
    });
    // One page of the full listing (it needs three), one page of common prefixes.
    expect(lists).toEqual(['ListObjectsV2Command', 'ListObjectsV2Command']);
    expect(bounds).toEqual(['tree/p08/', 'tree/p15/', 'tree/p23/']);
    expect(accepted(req, bounds!)).toEqual(bounds);
    const keys = await allKeys('tree/');
    expect(keys).toHaveLength(TREE.length);
    expect(shareOf(keys, bounds!)).toEqual([800, 700, 800, 700]);
    client.destroy();
  });

  it('splits the top level when the budget ends before a descent: 16 shards of 30 prefixes', async () => {
    const req = request('tree/', 16);
    const { client, lists } = countingClient(req.source);
    const bounds = await listShardBounds(req.source, 16, {
      client,
      maxPages: 1,
    });
    // One page of the full listing, one of common prefixes, and none left to descend (64 entries
    // wanted): the 30 prefixes are split as they are.
    expect(lists).toHaveLength(2);
    expect(bounds).toHaveLength(15);
    expect(accepted(req, bounds!)).toEqual(bounds);
    const share = shareOf(await allKeys('tree/'), bounds!);
    for (const n of share) expect([100, 200, 300]).toContain(n);
    client.destroy();
  });

  it('keeps exact bounds from the full listing within the budget', async () => {
    const req = request('tree/', 4);
    const { client, lists } = countingClient(req.source);
    const bounds = await listShardBounds(req.source, 4, { client });
    expect(DEFAULT_BOUNDS_PAGE_BUDGET).toBeGreaterThanOrEqual(3);
    // Three pages of 1,000 keys; MinIO may end with an empty fourth page.
    expect(lists.length).toBeGreaterThanOrEqual(3);
    expect(lists.length).toBeLessThanOrEqual(4);
    expect(accepted(req, bounds!)).toEqual(bounds);
    const share = shareOf(await allKeys('tree/'), bounds!);
    for (const n of share) expect(Math.abs(n - 750)).toBeLessThanOrEqual(10);
    client.destroy();
  });

  it('descends one level when the top level is too coarse, within the budget', async () => {
    const req = request('deep/', 4);
    const { client, lists } = countingClient(req.source);
    const bounds = await listShardBounds(req.source, 4, {
      client,
      maxPages: 2,
      pageSize: 100,
    });
    // Two pages of the full listing, then deep/ (one common prefix) and deep/only/ (30).
    expect(lists).toHaveLength(4);
    expect(bounds).toEqual([
      'deep/only/p08/',
      'deep/only/p15/',
      'deep/only/p23/',
    ]);
    expect(accepted(req, bounds!)).toEqual(bounds);
    expect(shareOf(await allKeys('deep/'), bounds!)).toEqual([80, 70, 80, 70]);

    // With one page, the descent does not fit: no bounds.
    const one = countingClient(req.source);
    expect(
      await listShardBounds(req.source, 4, {
        client: one.client,
        maxPages: 1,
        pageSize: 100,
      }),
    ).toBeUndefined();
    expect(one.lists).toHaveLength(2);
    client.destroy();
    one.client.destroy();
  });

  it('gives no bounds for a flat prefix past the budget, and the create goes on', async () => {
    const req = request('flat/', 2);
    const { client, lists } = countingClient(req.source);
    expect(
      await listShardBounds(req.source, 2, {
        client,
        maxPages: 1,
        pageSize: 100,
      }),
    ).toBeUndefined();
    expect(lists).toHaveLength(2);
    client.destroy();
  });

  it('reads the structure of the versions for asOf', async () => {
    const asOf = new Date(Date.now() + 60_000).toISOString();
    const req = request('v/', 2, { bucket: VERSIONED, asOf });
    const { client, lists } = countingClient(req.source);
    const bounds = await listShardBounds(req.source, 2, {
      client,
      maxPages: 2,
      pageSize: 10,
    });
    expect(lists).toEqual(Array(4).fill('ListObjectVersionsCommand'));
    expect(bounds).toEqual(['v/p10/']);
    client.destroy();
  });

  it("ends with the caller's signal", async () => {
    const req = request('tree/', 4);
    const { client } = countingClient(req.source);
    const controller = new AbortController();
    controller.abort();
    await expect(
      listShardBounds(req.source, 4, {
        client,
        maxPages: 1,
        signal: controller.signal,
      }),
    ).rejects.toThrow();
    // createRestore's step: an abandoned create stops; a failed listing only costs the bounds.
    const manifests = buildRestoreManifests(req);
    await expect(
      withShardBounds(req, manifests, {
        credentials: {
          accessKeyId: s3.accessKeyId,
          secretAccessKey: s3.secretAccessKey,
        },
        signal: controller.signal,
      }),
    ).rejects.toThrow();
    const unreadable = await withShardBounds(req, manifests, {
      credentials: { accessKeyId: 'nobody', secretAccessKey: 'wrong-secret' },
    });
    expect(unreadable).toBe(manifests);
    const readable = await withShardBounds(req, manifests, {
      credentials: {
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      },
    });
    // 3 pages fit the default budget: exact bounds.
    expect(readable.request.shards?.bounds).toHaveLength(3);
    client.destroy();
  });
});
