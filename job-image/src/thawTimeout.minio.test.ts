/**
 * A thaw that never completes: archived objects (through the fault proxy, which answers HEAD with
 * an ongoing x-amz-restore forever) end the restore after `source.archive.waitSeconds` with
 * THAW_TIMEOUT, fatally (the request's own limit: a retried pod would wait that long again), and
 * nothing written. The schema's smallest wait is 60 s, so this file takes a minute.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT_CODE_FATAL } from '@kube-restore/common';
import { FaultProxy } from './__testUtils__/faultProxy';
import { readTree, runJob } from './__testUtils__/job';
import { MinioServer, startMinio } from './__testUtils__/minio';

jest.setTimeout(180_000);

let minio: MinioServer;
let proxy: FaultProxy;
let base: string;

beforeAll(async () => {
  base = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-thaw-'));
  minio = await startMinio();
  proxy = await FaultProxy.start(minio.endpoint);
  await minio.createBucket('src');
  await minio.put('src', 'cold/a.dat', 'archived a');
  await minio.put('src', 'cold/b.dat', 'archived b');
  await minio.put('src', 'cold/c.dat', 'not archived');
});

afterAll(async () => {
  await proxy?.close();
  await minio?.stop();
  if (base) await fsp.rm(base, { recursive: true, force: true });
});

it('gives up after waitSeconds with THAW_TIMEOUT (fatal), naming an object, archived objects not written', async () => {
  proxy.archive('cold/a.dat', 'GLACIER', Number.MAX_SAFE_INTEGER);
  proxy.archive('cold/b.dat', 'DEEP_ARCHIVE', Number.MAX_SAFE_INTEGER);
  const target = path.join(base, 'target');
  await fsp.mkdir(target);
  const started = Date.now();
  const run = await runJob({
    request: {
      name: 'thaw-timeout',
      source: {
        endpoint: proxy.endpoint,
        bucket: 'src',
        prefix: 'cold/',
        // Polled every 10 s: a handful of HEAD rounds in the minute.
        archive: { tier: 'Bulk', waitSeconds: 60, pollSeconds: 10 },
      },
      target: { namespace: 'team-a', pvc: 'data' },
    },
    target,
    credentials: {
      accessKeyId: minio.accessKey,
      secretAccessKey: minio.secretKey,
    },
    timeoutMs: 150_000,
  });
  const elapsed = Date.now() - started;
  expect(run.termination).toMatchObject({
    phase: 'Failed',
    code: 'THAW_TIMEOUT',
    failedPhase: 'Thawing',
    message: '2 archived object(s) were not restored within 60s',
  });
  expect(['cold/a.dat', 'cold/b.dat']).toContain(run.termination?.entry);
  expect(run.code).toBe(EXIT_CODE_FATAL);
  // It waited the whole minute, and not much more.
  expect(elapsed).toBeGreaterThanOrEqual(60_000);
  expect(elapsed).toBeLessThan(90_000);
  // Both thaws were requested once, with the tier asked for, and polled.
  for (const key of ['cold/a.dat', 'cold/b.dat'])
    expect(proxy.archived.get(key)).toMatchObject({
      state: 'restoring',
      restoreRequests: 1,
      tier: 'Bulk',
    });
  expect(
    proxy.log.filter(r => r.method === 'HEAD' && r.key === 'cold/a.dat').length,
  ).toBeGreaterThanOrEqual(3);
  // The last progress line before the end still shows both waiting.
  const thawing = run.progress.filter(p => p.phase === 'Thawing');
  expect(thawing.at(-1)?.thaw).toEqual({ waiting: 2, ready: 0 });
  // The thaw comes after the listing: the readable object was written before it, the others not.
  expect([...(await readTree(target)).keys()]).toEqual(['c.dat']);
});
