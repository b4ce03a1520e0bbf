/**
 * restore-job against a real MinIO, end to end through the bundle: the S3 conformance suite (what
 * must hold on every server, __testUtils__/conformance.ts), and what only MinIO or its fault proxy
 * exercises: keys no server stores (conflicts, ".."), invalid requests, asOf over a versioned bucket,
 * sharding, the bandwidth limit, archived (Glacier) objects.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import {
  DeleteObjectCommand,
  PutBucketVersioningCommand,
} from '@aws-sdk/client-s3';
import { EXIT_CODE_FATAL } from '@kube-restore/common';
import { describeS3Conformance } from './__testUtils__/conformance';
import { body, expectTreeEquals, md5, pack } from './__testUtils__/harness';
import { readTree } from './__testUtils__/job';

jest.setTimeout(120_000);

const { h, objects } = describeS3Conformance('minio', 'r');

beforeAll(async () => {
  // Conflicting keys elsewhere.
  await h.server.put('src', 'conflict/a', 'file a');
  // MinIO cannot hold both `a` and `a/b` (AWS S3 can): the proxy lists `a2` as `a/b`.
  await h.server.put('src', 'conflict/a2', 'file a/b');
  // MinIO refuses to store keys with ".." segments (AWS S3 does not): the proxy lists one.
  await h.server.put('src', 'escape/dotdot', 'evil');
});

describe('keys no server stores, listed by the proxy', () => {
  /** Restores `prefix` through the proxy, which lists the stored key `stored` as `listed`. */
  const restoreListing = async (
    prefix: string,
    stored: string,
    listed: string,
  ) => {
    const target = await h.newTarget();
    h.proxy.rewriteListing = xml =>
      xml.replace(`<Key>${stored}</Key>`, `<Key>${listed}</Key>`);
    const run = await h.run({
      request: h.request({ prefix, endpoint: h.proxy.endpoint }),
      target,
    });
    expect(run.code).toBe(EXIT_CODE_FATAL);
    return { run, target };
  };

  it('refuses `a` and `a/b` both present with PATH_CONFLICT before writing anything', async () => {
    const { run, target } = await restoreListing(
      'conflict/',
      'conflict/a2',
      'conflict/a/b',
    );
    expect(run.termination).toMatchObject({
      phase: 'Failed',
      code: 'PATH_CONFLICT',
      failedPhase: 'Planning',
      entry: 'conflict/a/b',
    });
    expect((await readTree(target)).size).toBe(0);
  });

  it('refuses a key with ".." segments with UNSAFE_PATH', async () => {
    const { run } = await restoreListing(
      'escape/',
      'escape/dotdot',
      'escape/../../x',
    );
    expect(run.termination).toMatchObject({
      code: 'UNSAFE_PATH',
      entry: 'escape/../../x',
    });
    expect(await fsp.readdir(h.base)).not.toContain('x');
  });
});

it('an object replaced by a large one since the listing goes through the gate as large', async () => {
  const big = body(11, 3 * 1024 * 1024 + 7);
  await h.server.put('src', 'grown/obj', big);
  const target = await h.newTarget();
  // listed as it was before a writer replaced it: 100 bytes, a small object for the gate
  h.proxy.rewriteListing = xml =>
    xml.replace(`<Size>${big.length}</Size>`, '<Size>100</Size>');
  try {
    const run = await h.run({
      request: h.request({ prefix: 'grown/', endpoint: h.proxy.endpoint }),
      target,
    });
    expect(run.code).toBe(0);
    expect(
      run.lines.filter(
        l =>
          l.type === 'log' && l.msg === 'the object grew since it was listed',
      ),
    ).toEqual([
      expect.objectContaining({
        key: 'grown/obj',
        listedBytes: 100,
        bytes: big.length,
      }),
    ]);
    expectTreeEquals(await readTree(target), new Map([['obj', big]]));
  } finally {
    h.proxy.rewriteListing = undefined;
  }
});

it('an invalid request is INVALID_REQUEST naming the field', async () => {
  const target = await h.newTarget();
  const run = await h.run({
    request: {
      source: { bucket: 'src', prefix: 'no-slash' },
      target: { namespace: 'a', pvc: 'b' },
    } as never,
    target,
  });
  expect(run.termination).toMatchObject({ code: 'INVALID_REQUEST' });
  expect(run.termination?.message).toContain('source.prefix');
  expect(run.code).toBe(EXIT_CODE_FATAL);
});

describe('asOf (versioned bucket)', () => {
  it('restores the newest version at or before the time, respecting delete markers', async () => {
    const { server } = h;
    const remove = (Key: string) =>
      server.client.send(new DeleteObjectCommand({ Bucket: 'versioned', Key }));
    await server.createBucket('versioned', { versioned: true });
    await server.put('versioned', 'v/a.txt', 'a-v1');
    await server.put('versioned', 'v/gone-later.txt', 'was here');
    await server.put('versioned', 'v/gone-before.txt', 'deleted before asOf');
    await remove('v/gone-before.txt');
    await new Promise(r => setTimeout(r, 1100));
    const asOf = new Date().toISOString();
    await new Promise(r => setTimeout(r, 1100));
    await server.put('versioned', 'v/a.txt', 'a-v2');
    await server.put('versioned', 'v/new.txt', 'created after asOf');
    await remove('v/gone-later.txt');

    const target = await h.newTarget();
    const run = await h.run({
      request: h.request({ bucket: 'versioned', prefix: 'v/', asOf }),
      target,
    });
    expect(run.termination?.phase).toBe('Succeeded');
    const tree = await readTree(target);
    expect(
      Object.fromEntries([...tree].map(([k, v]) => [k, v.toString()])),
    ).toEqual({ 'a.txt': 'a-v1', 'gone-later.txt': 'was here' });

    // one key as it was: its own version, not the current one nor a longer key's; auto sniffs
    // that version, not the current one (an archive now)
    await server.put('versioned', 'v/a.txt.bak', 'a longer key');
    await server.put(
      'versioned',
      'v/a.txt',
      await pack([{ name: 'inside.txt', body: 'from the current archive' }]),
    );
    const one = await h.newTarget();
    const single = await h.run({
      request: h.request({ bucket: 'versioned', key: 'v/a.txt', asOf }),
      target: one,
    });
    expect(single.termination?.phase).toBe('Succeeded');
    const restored = await readTree(one);
    expect(
      Object.fromEntries([...restored].map(([k, v]) => [k, v.toString()])),
    ).toEqual({ 'a.txt': 'a-v1' });
  });

  it('restores an object written before versioning was enabled (its version id is "null") as it was', async () => {
    const { server } = h;
    await server.createBucket('late-versioned');
    await server.put('late-versioned', 'n/a.txt', 'before versioning');
    await server.put('late-versioned', 'n/big.bin', body(7, 12 * 1024 * 1024));
    await server.client.send(
      new PutBucketVersioningCommand({
        Bucket: 'late-versioned',
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
    await new Promise(r => setTimeout(r, 1100));
    const asOf = new Date().toISOString();
    await new Promise(r => setTimeout(r, 1100));
    await server.put('late-versioned', 'n/a.txt', 'after versioning');
    await server.put('late-versioned', 'n/big.bin', body(8, 12 * 1024 * 1024));
    // the large one in ranged parts too: each pinned to the "null" version
    const options = { parts: { minObjectSize: '6Mi', size: '5Mi' } };
    const before = new Map([
      ['a.txt', md5(Buffer.from('before versioning'))],
      ['big.bin', md5(body(7, 12 * 1024 * 1024))],
    ]);
    for (const [source, names] of [
      [{ prefix: 'n/' }, ['a.txt', 'big.bin']],
      [{ key: 'n/a.txt' }, ['a.txt']],
      [{ key: 'n/big.bin' }, ['big.bin']],
    ] as const) {
      const target = await h.newTarget();
      const run = await h.run({
        request: h.request(
          { bucket: 'late-versioned', asOf, ...source },
          { options },
        ),
        target,
      });
      expect(run.termination).toMatchObject({ phase: 'Succeeded' });
      const tree = await readTree(target);
      expect(new Map([...tree].map(([k, v]) => [k, md5(v)]))).toEqual(
        new Map(names.map(n => [n, before.get(n)])),
      );
    }
  });

  it('restores an archive as it was: its version then, by format tar and by auto', async () => {
    const { server } = h;
    await server.createBucket('versioned-tar', { versioned: true });
    const key = 'backups/db.tar';
    await server.put(
      'versioned-tar',
      key,
      await pack([{ name: 'old.txt', body: 'the backup then' }]),
    );
    await new Promise(r => setTimeout(r, 1100));
    const asOf = new Date().toISOString();
    await new Promise(r => setTimeout(r, 1100));
    await server.put(
      'versioned-tar',
      key,
      await pack([{ name: 'new.txt', body: 'the backup now' }]),
    );
    for (const format of ['tar', 'auto'] as const) {
      const target = await h.newTarget();
      const run = await h.run({
        request: h.request({ bucket: 'versioned-tar', key, asOf, format }),
        target,
      });
      expect(run.termination?.phase).toBe('Succeeded');
      const tree = await readTree(target);
      expect(
        Object.fromEntries([...tree].map(([k, v]) => [k, v.toString()])),
      ).toEqual({ 'old.txt': 'the backup then' });
    }
    // before its first version there is nothing to restore
    const none = await h.run({
      request: h.request({
        bucket: 'versioned-tar',
        key,
        format: 'tar',
        asOf: '2000-01-01T00:00:00Z',
      }),
      target: await h.newTarget(),
    });
    expect(none.termination).toMatchObject({
      phase: 'Failed',
      code: 'NO_SUCH_KEY',
    });
    expect(none.termination?.message).toContain('no version of');
  });
});

describe('sharding (Indexed Job)', () => {
  it('three shards restore exactly the whole set once, each with its own manifest', async () => {
    const target = await h.newTarget();
    const request = {
      ...h.request({ prefix: 'data/' }, { options: { parallelism: 3 } }),
      name: 'sharded',
    };
    const runs = await Promise.all(
      [0, 1, 2].map(i =>
        h.run({ request, target, env: { JOB_COMPLETION_INDEX: String(i) } }),
      ),
    );
    for (const [i, run] of runs.entries()) {
      expect(run.termination).toMatchObject({
        phase: 'Succeeded',
        shard: { index: i, count: 3 },
        manifest: `.kube-restore/manifest-${i}-of-3.jsonl`,
      });
    }
    expect(runs.reduce((s, r) => s + r.termination!.objects, 0)).toBe(
      objects.size,
    );
    expect(runs.every(r => r.termination!.objects > 0)).toBe(true);
    const expected = new Map(
      [...objects].map(([k, v]) => [k.slice('data/'.length), v]),
    );
    expectTreeEquals(await readTree(target), expected);
  });
});

describe('bandwidth limit', () => {
  it('holds the transfer to the requested rate', async () => {
    const target = await h.newTarget();
    const started = Date.now();
    const run = await h.run({
      request: h.request(
        { prefix: 'data/bin/' },
        { options: { bandwidth: '400Ki' } },
      ),
      target,
    });
    expect(run.termination?.phase).toBe('Succeeded');
    // 1 MiB at 400 KiB/s with a one-second burst: at least about 1.5 s.
    expect(Date.now() - started).toBeGreaterThan(1500);
  });
});

describe('archived (Glacier) objects, through the fault proxy', () => {
  const thaw = (archive: Record<string, unknown>) =>
    h.request({ prefix: 'data/many/', endpoint: h.proxy.endpoint, archive });

  beforeEach(() => {
    h.proxy.archive('data/many/005.dat', 'GLACIER', 2);
    h.proxy.archive('data/many/006.dat', 'DEEP_ARCHIVE', 3);
  });

  it('tier "fail": ARCHIVED_OBJECT before anything is written', async () => {
    const target = await h.newTarget();
    const run = await h.run({
      request: h.request({ prefix: 'data/many/', endpoint: h.proxy.endpoint }),
      target,
    });
    expect(run.code).toBe(EXIT_CODE_FATAL);
    expect(run.termination).toMatchObject({
      code: 'ARCHIVED_OBJECT',
      failedPhase: 'Planning',
    });
    expect((await readTree(target)).size).toBe(0);
    expect(h.proxy.log.some(r => r.method === 'POST')).toBe(false);
  });

  it('a thaw tier: RestoreObject, Thawing with counts, poll, then restore', async () => {
    const target = await h.newTarget();
    const run = await h.run({
      request: thaw({ tier: 'Bulk', days: 2, pollSeconds: 1 }),
      target,
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 40 });
    const thawing = run.progress.filter(p => p.phase === 'Thawing');
    expect(thawing[0]?.thaw).toEqual({ waiting: 2, ready: 0 });
    expect(h.proxy.archived.get('data/many/005.dat')).toMatchObject({
      state: 'restored',
      restoreRequests: 1,
      tier: 'Bulk',
    });
    expect(
      (await readTree(target))
        .get('006.dat')!
        .equals(objects.get('data/many/006.dat')!),
    ).toBe(true);
  });

  it('SIGTERM while thawing: CANCELLED (retryable), the archived objects not written', async () => {
    h.proxy.archive('data/many/005.dat', 'GLACIER', 1_000_000);
    const target = await h.newTarget();
    const run = await h.run({
      request: thaw({ tier: 'Standard', waitSeconds: 60, pollSeconds: 20 }),
      target,
      sigtermWhen: l => l.type === 'progress' && l.phase === 'Thawing',
    });
    // Stopped while thawing: CANCELLED (retryable). The thaw comes after the listing, so the
    // objects that were readable are written; the archived ones are not.
    expect(run.termination).toMatchObject({
      code: 'CANCELLED',
      failedPhase: 'Thawing',
    });
    expect(run.code).toBe(1);
    const tree = await readTree(target);
    expect(tree.size).toBe(38);
    expect(tree.has('005.dat') || tree.has('006.dat')).toBe(false);
  });
});

describe('the listing', () => {
  const listRequests = () =>
    h.proxy.log.filter(r => r.method === 'GET' && /list-type=2/.test(r.query));

  it('asks for its first page once, and before the volume is claimed: a restore refused TARGET_IN_USE already did', async () => {
    const request = () =>
      h.request({ prefix: 'data/many/', endpoint: h.proxy.endpoint });
    h.proxy.clear();
    const ok = await h.run({ request: request(), target: await h.newTarget() });
    expect(ok.termination).toMatchObject({ phase: 'Succeeded', objects: 40 });
    expect(listRequests()).toHaveLength(1);

    // Another restore's live claim on the volume.
    const target = await h.newTarget();
    await fsp.mkdir(path.join(target, '.kube-restore'));
    await fsp.writeFile(
      path.join(target, '.kube-restore/restore-id'),
      'another-restore\nshards 1\n',
    );
    h.proxy.clear();
    const refused = await h.run({ request: request(), target });
    expect(refused.termination).toMatchObject({ code: 'TARGET_IN_USE' });
    expect(listRequests()).toHaveLength(1);
    expect((await readTree(target)).size).toBe(0);
  });
});
