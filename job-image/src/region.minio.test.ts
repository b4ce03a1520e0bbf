/**
 * A request signed for another region than the bucket's, against a real MinIO that has a region
 * (MINIO_SITE_REGION; by default MinIO takes any): the listing's error body and a HEAD's bodiless
 * 400 (read from a one-byte GET of the same object) both end the restore as INVALID_REQUEST, fatal,
 * naming the region MinIO expects, after one try.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT_CODE_FATAL, RestoreRequestInput } from '@kube-restore/common';
import { FaultProxy } from './__testUtils__/faultProxy';
import { readTree, runJob } from './__testUtils__/job';
import { MinioServer, startMinio } from './__testUtils__/minio';

jest.setTimeout(120_000);

let minio: MinioServer;
let proxy: FaultProxy;
let base: string;
let n = 0;

beforeAll(async () => {
  base = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-region-'));
  minio = await startMinio({ region: 'eu-west-1' });
  proxy = await FaultProxy.start(minio.endpoint);
  await minio.createBucket('src');
  await minio.put('src', 'data/one.txt', 'in eu-west-1\n');
});

afterAll(async () => {
  await proxy?.close();
  await minio?.stop();
  if (base) await fsp.rm(base, { recursive: true, force: true });
});

function request(
  source: Partial<RestoreRequestInput['source']>,
): RestoreRequestInput {
  return {
    name: `region${++n}`,
    source: { endpoint: proxy.endpoint, bucket: 'src', ...source },
    target: { namespace: 'team-a', pvc: 'data' },
  } as RestoreRequestInput;
}

const credentials = () => ({
  accessKeyId: minio.accessKey,
  secretAccessKey: minio.secretKey,
});

it.each([
  [
    'one key (its HEAD refused without a body)',
    { key: 'data/one.txt', format: 'objects' as const },
    // the HEAD's 400, then the one-byte GET whose error body names the code
    ['HEAD 400', 'GET 400'],
  ],
  ['a prefix (its listing refused)', { prefix: 'data/' }, ['GET 400']],
])(
  '%s signed for us-east-1 is INVALID_REQUEST (fatal), naming eu-west-1, after one try',
  async (_, source, requests) => {
    const target = path.join(base, `t${n}`);
    await fsp.mkdir(target);
    proxy.log.length = 0;
    const run = await runJob({
      request: request({ ...source, region: 'us-east-1' }),
      target,
      credentials: credentials(),
    });
    expect(run.code).toBe(EXIT_CODE_FATAL);
    expect(run.termination).toMatchObject({
      phase: 'Failed',
      code: 'INVALID_REQUEST',
      failedPhase: 'Planning',
    });
    expect(run.termination?.message).toContain('eu-west-1');
    expect((await readTree(target)).size).toBe(0);
    expect(proxy.log.map(r => `${r.method} ${r.status}`)).toEqual(requests);
  },
);

it('signed for its own region, the same restore succeeds', async () => {
  const target = path.join(base, 'ok');
  await fsp.mkdir(target);
  const run = await runJob({
    request: request({ key: 'data/one.txt', region: 'eu-west-1' }),
    target,
    credentials: credentials(),
  });
  expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 1 });
  expect((await readTree(target)).get('one.txt')?.toString()).toBe(
    'in eu-west-1\n',
  );
});
