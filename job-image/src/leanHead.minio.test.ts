/**
 * An archive or one key is HEADed on the job's lean path, against a real MinIO through the fault
 * proxy (which logs every request): such a restore runs with the AWS SDK's control client taken
 * away from beside the bundle, so it never loads it; the HEAD is sent early and taken once; a
 * missing key ends the restore with NO_SUCH_KEY, naming it, without retries.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { EXIT_CODE_FATAL } from '@kube-restore/common';
import { headOf } from './__testUtils__/faultProxy';
import { body, pack, useHarness } from './__testUtils__/harness';
import { ensureBundle, readTree } from './__testUtils__/job';
import { CONTROL_CLIENT_FILE } from './s3/loadControlClient';

jest.setTimeout(120_000);

const files = [
  { name: 'a.txt', body: 'alpha' },
  { name: 'dir/b.bin', body: body(1, 70_000) },
];

const h = useHarness({
  kind: 'minio',
  bucket: 'lean',
  viaProxy: true,
  name: 'lh',
  seed: async harness => {
    await harness.server.put(
      'lean',
      'archives/small.tar.gz',
      zlib.gzipSync(await pack(files)),
    );
    await harness.server.put('lean', 'one/file.bin', body(2, 5000));
    await harness.server.put('lean', 'many/x.txt', 'x');
  },
});

/** A copy of the job's bundle directory without the SDK's control client. */
let withoutSdk: string;
beforeAll(() => {
  const dir = path.dirname(ensureBundle());
  withoutSdk = mkdtempSync(path.join(os.tmpdir(), 'kr-no-sdk-'));
  for (const name of readdirSync(dir))
    if (!name.startsWith(CONTROL_CLIENT_FILE))
      copyFileSync(path.join(dir, name), path.join(withoutSdk, name));
});
afterAll(() => rmSync(withoutSdk, { recursive: true, force: true }));
const bundle = () => path.join(withoutSdk, 'restore-job.cjs');

const heads = (key: string) =>
  h.proxy.log.filter(e => e.method === 'HEAD' && e.key === key);

describe('without the SDK beside the bundle', () => {
  it.each([
    ['a tar archive', { key: 'archives/small.tar.gz', format: 'tar' }],
    ['an archive found by its first bytes', { key: 'archives/small.tar.gz' }],
  ])('%s is restored, its HEAD sent once', async (_, source) => {
    const target = await h.newTarget();
    const run = await h.run({
      request: h.request(source),
      target,
      bundle: bundle(),
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 2 });
    const tree = await readTree(target);
    expect([...tree.keys()].sort()).toEqual(['a.txt', 'dir/b.bin']);
    expect(tree.get('dir/b.bin')).toEqual(files[1].body);
    expect(heads('archives/small.tar.gz')).toHaveLength(1);
  });

  it('one key is restored, its HEAD sent once', async () => {
    const target = await h.newTarget();
    const run = await h.run({
      request: h.request({ key: 'one/file.bin', format: 'objects' }),
      target,
      bundle: bundle(),
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 1 });
    expect((await readTree(target)).get('file.bin')).toEqual(body(2, 5000));
    expect(heads('one/file.bin')).toHaveLength(1);
  });

  it('a restore that needs the SDK (asOf: ListObjectVersions) says it cannot load it', async () => {
    // the copy really lacks the client: this is what the restores above would have met
    const run = await h.run({
      request: h.request({ prefix: 'many/', asOf: new Date().toISOString() }),
      target: await h.newTarget(),
      bundle: bundle(),
    });
    expect(run.termination).toMatchObject({
      phase: 'Failed',
      code: 'INTERNAL',
    });
    expect(run.termination?.message).toContain(
      "cannot load the AWS SDK's control client",
    );
  });
});

describe('a missing key', () => {
  it.each([
    ['an archive', 'tar'],
    ['one key', 'objects'],
  ])(
    '%s is NO_SUCH_KEY (fatal), naming it, after one HEAD',
    async (_, format) => {
      const key = 'archives/nope.tar.gz';
      const run = await h.run({
        request: h.request({ key, format }),
        target: await h.newTarget(),
        bundle: bundle(),
      });
      expect(run.code).toBe(EXIT_CODE_FATAL);
      expect(run.termination).toMatchObject({
        phase: 'Failed',
        code: 'NO_SUCH_KEY',
        entry: key,
      });
      expect(run.termination?.message).toContain(
        `no object "${key}" in bucket "lean"`,
      );
      expect(heads(key)).toHaveLength(1);
    },
  );

  it('a refused HEAD is ACCESS_DENIED (fatal), naming the key, after one HEAD', async () => {
    const key = 'one/file.bin';
    h.proxy.add({
      match: headOf(key),
      action: { type: 'status', status: 403, code: 'AccessDenied' },
    });
    const run = await h.run({
      request: h.request({ key, format: 'objects' }),
      target: await h.newTarget(),
      bundle: bundle(),
    });
    expect(run.code).toBe(EXIT_CODE_FATAL);
    expect(run.termination).toMatchObject({
      code: 'ACCESS_DENIED',
      entry: key,
    });
    expect(run.termination?.message).toContain(`HEAD of "${key}"`);
    expect(heads(key)).toHaveLength(1);
  });
});

it('an early HEAD that failed is retried as any other', async () => {
  const key = 'archives/small.tar.gz';
  h.proxy.add({
    match: headOf(key),
    action: { type: 'status', status: 500, code: 'InternalError' },
    times: 1,
  });
  const target = await h.newTarget();
  const run = await h.run({
    request: h.request({ key, format: 'tar' }),
    target,
    bundle: bundle(),
  });
  expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 2 });
  expect(heads(key)).toHaveLength(2);
  expect(
    run.lines.filter(l => l.msg === 'retrying an S3 call' && l.key === key),
  ).toHaveLength(1);
});

it('an archived archive: found by the HEAD, thawed (RestoreObject), polled, restored', async () => {
  const key = 'archives/small.tar.gz';
  h.proxy.archive(key, 'GLACIER', 2);
  const target = await h.newTarget();
  const run = await h.run({
    request: h.request({
      key,
      format: 'tar',
      archive: { tier: 'Bulk', pollSeconds: 1 },
    }),
    target,
  });
  expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 2 });
  expect(run.progress.some(p => p.phase === 'Thawing')).toBe(true);
  expect(h.proxy.archived.get(key)).toMatchObject({
    state: 'restored',
    restoreRequests: 1,
    tier: 'Bulk',
  });
  // the plan's, the thaw check's, then polls until restored
  expect(heads(key).length).toBeGreaterThanOrEqual(3);
});
