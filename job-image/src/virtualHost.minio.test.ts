/**
 * Virtual-hosted addressing (AWS's default: `bucket.host/key`), end to end through the bundle: MinIO
 * with MINIO_DOMAIN serves `src.s3.kr.test`, and the loopback forward proxy
 * (__testUtils__/connectProxy.ts) is the only way to that name: no DNS is asked, the proxy maps the
 * bucket's host name to the fault proxy in front of MinIO. The SDK's listing and the lean GETs (one
 * stream and ranged) must all name the bucket in the host, not the path.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConnectProxy } from './__testUtils__/connectProxy';
import { FaultProxy } from './__testUtils__/faultProxy';
import { body, md5 } from './__testUtils__/harness';
import { readTree, runJob } from './__testUtils__/job';
import { MinioServer, startMinio } from './__testUtils__/minio';

jest.setTimeout(120_000);

const MiB = 1024 * 1024;
const DOMAIN = 's3.kr.test';
let minio: MinioServer;
let s3: FaultProxy;
let proxy: ConnectProxy;
let base: string;
const large = body(5, 7 * MiB);

beforeAll(async () => {
  base = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-vhost-'));
  minio = await startMinio({ domain: DOMAIN });
  s3 = await FaultProxy.start(minio.endpoint);
  proxy = await ConnectProxy.start({
    [`src.${DOMAIN}:${s3.port}`]: `127.0.0.1:${s3.port}`,
    [`${DOMAIN}:${s3.port}`]: `127.0.0.1:${s3.port}`,
  });
  await minio.createBucket('src');
  await minio.put('src', 'data/small.txt', 'virtual-hosted\n');
  await minio.put('src', 'data/large.bin', large);
});

afterAll(async () => {
  await proxy?.close();
  await s3?.close();
  await minio?.stop();
  if (base) await fsp.rm(base, { recursive: true, force: true });
});

it('lists and GETs (ranged too) at bucket.host: the bucket is in the host name of every request', async () => {
  const target = path.join(base, 't1');
  await fsp.mkdir(target);
  const run = await runJob({
    request: {
      name: 'vhost',
      source: {
        endpoint: `http://${DOMAIN}:${s3.port}`,
        bucket: 'src',
        prefix: 'data/',
        pathStyle: false,
      },
      target: { namespace: 'team-a', pvc: 'data' },
    },
    target,
    credentials: {
      accessKeyId: minio.accessKey,
      secretAccessKey: minio.secretKey,
    },
    env: { HTTP_PROXY: proxy.url },
    options: { parts: { minObjectSize: '6Mi', size: '5Mi' } },
  });
  expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 2 });
  const tree = await readTree(target);
  expect(tree.get('small.txt')?.toString()).toBe('virtual-hosted\n');
  expect(md5(tree.get('large.bin')!)).toBe(md5(large));
  const origin = `http://src.${DOMAIN}:${s3.port}`;
  expect(proxy.seen.length).toBeGreaterThan(0);
  expect(
    proxy.seen.every(
      l => l.startsWith(`GET ${origin}/`) || l.startsWith(`HEAD ${origin}/`),
    ),
  ).toBe(true);
  expect(
    proxy.seen.some(l => /^GET [^?]+\/\?encoding-type=url&list-type=2/.test(l)),
  ).toBe(true);
  expect(
    proxy.seen.filter(l => l === `GET ${origin}/data/large.bin`),
  ).toHaveLength(2);
  expect(proxy.seen).toContain(`GET ${origin}/data/small.txt`);
});
