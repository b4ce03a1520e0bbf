/*
 * Whose identity a create's shard-bounds listing (core's withShardBounds, createRestore's step) is
 * made with, against a real MinIO behind a loopback proxy that records every request's
 * Authorization header. The MinIO root's keys are in process.env, as a service's own identity would
 * be (the populator's, the Backstage backend's): a source whose credentials are the Job's
 * (nodeIdentity, serviceAccount, a Secret core was not given) must get no bounds and no request
 * signed with them; an `anonymous` source is listed unsigned; only a caller that opts in
 * (kubectl, acting as the user) lists with its ambient identity.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateBucketCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { parseRestoreRequest, type RestoreRequest } from '@kube-restore/common';
import { buildRestoreManifests, withShardBounds } from '@kube-restore/core';
import { S3Server, startS3Server } from '@kube-restore/test-cluster';

jest.setTimeout(120_000);

const PRIVATE = 'tenant-private';
const PUBLIC = 'public-data';
const KEYS = Array.from(
  { length: 40 },
  (_, i) => `p/k${String(i).padStart(2, '0')}.bin`,
);

let s3: S3Server;
let admin: S3Client;
let proxy: http.Server;
let proxyEndpoint: string;
/** The Authorization header of every request that reached the proxy ('' when unsigned). */
const seen: string[] = [];
const saved = { ...process.env };

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
  for (const Bucket of [PRIVATE, PUBLIC]) {
    await admin.send(new CreateBucketCommand({ Bucket }));
    for (const Key of KEYS)
      await admin.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
  }
  await admin.send(
    new PutBucketPolicyCommand({
      Bucket: PUBLIC,
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: ['*'] },
            Action: ['s3:ListBucket'],
            Resource: [`arn:aws:s3:::${PUBLIC}`],
          },
        ],
      }),
    }),
  );
  // Forwards every request to MinIO unchanged (the Host header too, so signatures still hold).
  const target = new URL(s3.endpoint);
  proxy = http.createServer((req, res) => {
    seen.push(req.headers.authorization ?? '');
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      answer => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve));
  proxyEndpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  // The service's own identity, as the SDK's default chain would find it.
  process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;
  delete process.env.AWS_PROFILE;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
});

afterAll(async () => {
  process.env = saved;
  await new Promise<void>(resolve => proxy?.close(() => resolve()));
  admin?.destroy();
  await s3?.stop();
});

beforeEach(() => {
  seen.length = 0;
});

function request(
  bucket: string,
  credentials: Record<string, string>,
): RestoreRequest {
  return parseRestoreRequest({
    source: {
      bucket,
      prefix: 'p/',
      endpoint: proxyEndpoint,
      region: s3.region,
      pathStyle: true,
    },
    target: { namespace: 'ns', pvc: 'data', size: '1Gi' },
    credentials,
    options: { parallelism: 4 },
  });
}

describe('a create without keys lists nothing with the caller identity', () => {
  it.each([
    ['nodeIdentity', { type: 'nodeIdentity' }],
    [
      'serviceAccount',
      { type: 'serviceAccount', serviceAccountName: 'reader' },
    ],
    ['secret core was not given', { type: 'secret', secretName: 'theirs' }],
    ['none', { type: 'none' }],
  ])('%s: no bounds, no signed request', async (_name, credentials) => {
    const req = request(PRIVATE, credentials);
    const manifests = buildRestoreManifests(req);
    // What the populator and the Backstage backend pass when they hold no keys of the source.
    const out = await withShardBounds(req, manifests, {
      signal: AbortSignal.timeout(60_000),
    });
    expect(out).toBe(manifests);
    expect(out.request.shards).toBeUndefined();
    expect(seen).toEqual([]);
  });

  it('kubectl, acting as the user, opts in: the ambient identity lists and bounds come', async () => {
    const req = request(PRIVATE, { type: 'nodeIdentity' });
    const out = await withShardBounds(req, buildRestoreManifests(req), {
      ambientCredentials: true,
    });
    expect(out.request.shards?.bounds).toHaveLength(3);
    expect(seen.length).toBeGreaterThan(0);
    // Signed with the keys in the environment: what the service case above must never send.
    for (const auth of seen)
      expect(auth).toContain(`Credential=${s3.accessKeyId}/`);
  });
});

describe('an anonymous source', () => {
  it('is listed unsigned, and a public bucket gets its bounds', async () => {
    const req = request(PUBLIC, { type: 'anonymous' });
    const out = await withShardBounds(req, buildRestoreManifests(req), {});
    expect(out.request.shards?.bounds).toHaveLength(3);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every(auth => auth === '')).toBe(true);
  });

  it('of a bucket that is not public gets no bounds, and still sends no keys', async () => {
    const req = request(PRIVATE, { type: 'anonymous' });
    const manifests = buildRestoreManifests(req);
    const out = await withShardBounds(req, manifests, {});
    expect(out).toBe(manifests);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every(auth => auth === '')).toBe(true);
  });
});
