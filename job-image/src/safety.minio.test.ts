/**
 * Data safety under failure and attack, end to end through the bundle against a real MinIO (behind
 * the fault proxy): retries never overwrite what the volume held before the first attempt, one
 * restore writes a volume at a time, kube-restore's own directory is not followed through a link,
 * and archives with paths the file system cannot hold fail for good.
 */
import fsSync, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import {
  EXIT_CODE_FATAL,
  EXIT_CODE_RETRYABLE,
  RestoreRequestInput,
} from '@kube-restore/common';
import { getOf } from './__testUtils__/faultProxy';
import { fakeImds } from './__testUtils__/fakeImds';
import { body, md5, pack, useHarness } from './__testUtils__/harness';
import { JobRun, readTree } from './__testUtils__/job';

jest.setTimeout(120_000);

const archiveFiles = [
  { name: 'keep.txt', body: 'from the archive' },
  { name: 'big.bin', body: body(1, 3 * 1024 * 1024) },
  { name: 'z.txt', body: 'last' },
];

const h = useHarness({
  kind: 'minio',
  bucket: 'safety',
  name: 's',
  viaProxy: true,
  async seed({ server }) {
    await server.put('safety', 'data.tar', await pack(archiveFiles));
    await server.put('safety', 'objs/keep.txt', 'from the bucket');
    await server.put('safety', 'objs/a.bin', body(2, 300_000));
    await server.put('safety', 'objs/b.bin', body(3, 300_000));
    // A public bucket: anyone may list and read it.
    await server.createBucket('public');
    await server.client.send(
      new PutBucketPolicyCommand({
        Bucket: 'public',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: ['*'] },
              Action: ['s3:GetObject', 's3:ListBucket', 's3:GetBucketLocation'],
              Resource: ['arn:aws:s3:::public', 'arn:aws:s3:::public/*'],
            },
          ],
        }),
      }),
    );
    await server.put('public', 'objs/a.bin', body(2, 300_000));
    const deep = `${Array.from({ length: 22 }, (_, i) => `${'d'.repeat(200)}${i}`).join('/')}/f.txt`;
    await server.put(
      'safety',
      'long.tar',
      await pack([{ name: deep, body: 'x' }]),
    );
    // The second entry's typeflag becomes `S` (GNU sparse), its checksum fixed.
    const sparse = await pack([
      { name: 'a.txt', body: 'a' },
      { name: 'sparse.img', body: 'not really sparse' },
    ]);
    sparse.write('S', 1024 + 156, 'latin1');
    sparse.fill(' ', 1024 + 148, 1024 + 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += sparse[1024 + i];
    sparse.write(
      `${sum.toString(8).padStart(6, '0')}\0 `,
      1024 + 148,
      'latin1',
    );
    await server.put('safety', 'sparse.tar', sparse);
  },
});

const USER_FILE = 'the user wrote this';

/** A volume holding the user's keep.txt. */
async function volumeWithUserFile(): Promise<string> {
  const target = await h.newTarget();
  await fsp.writeFile(path.join(target, 'keep.txt'), USER_FILE);
  return target;
}

/**
 * A new volume holding the user's keep/x, and a proxy rule: at the first `method` request for
 * `key` (after the planning look), someone makes `link` (its parents made too) a link to keep;
 * `linked()` says whether they did.
 */
async function volumeLinkedAt(
  method: string,
  key: string,
  link = 'd',
): Promise<{ target: string; linked: () => boolean }> {
  const target = await h.newTarget();
  await fsp.mkdir(path.join(target, 'keep'));
  await fsp.writeFile(path.join(target, 'keep', 'x'), USER_FILE);
  let linked = false;
  h.proxy.add({
    match: r => {
      if (r.method === method && r.key === key && !linked) {
        linked = true;
        const at = path.join(target, link);
        fsSync.mkdirSync(path.dirname(at), { recursive: true });
        fsSync.symlinkSync(
          path.relative(path.dirname(at), path.join(target, 'keep')),
          at,
        );
      }
      return false;
    },
    action: { type: 'status', status: 500, code: 'InternalError' },
  });
  return { target, linked: () => linked };
}

/**
 * After a volumeLinkedAt run: the link was made, the restore succeeded skipping the one object
 * whose path led into keep, and the user's keep/x is as it was.
 */
async function expectLinkLookedInto(
  run: JobRun,
  target: string,
  linked: () => boolean,
): Promise<void> {
  expect(linked()).toBe(true);
  expect(run.termination).toMatchObject({
    phase: 'Succeeded',
    objectsSkipped: 1,
  });
  expect(await fsp.readFile(path.join(target, 'keep', 'x'), 'utf8')).toBe(
    USER_FILE,
  );
}

function request(
  source: Record<string, unknown>,
  conflict: 'fail' | 'skip-existing' | 'overwrite',
  name?: string,
): RestoreRequestInput {
  const req = h.request(source, {
    target: { namespace: 'team-a', pvc: 'data', mode: 'existing', conflict },
  });
  return name ? { ...req, name } : req;
}

describe('never overwrite across retries: decisions come from what the volume held before the first attempt', () => {
  it('tar, skip-existing: keep.txt skipped by attempt 1 is untouched by attempt 2', async () => {
    const target = await volumeWithUserFile();
    const req = request({ key: 'data.tar', format: 'tar' }, 'skip-existing');
    // Attempt 1 breaks mid-archive (after keep.txt was skipped) and gives up: a retryable failure.
    h.proxy.add({
      match: getOf('data.tar'),
      action: { type: 'reset', afterBytes: 1024 * 1024 },
    });
    const first = await h.run({
      request: req,
      target,
      options: { retry: { attempts: 1 } },
    });
    expect(first.code).toBe(EXIT_CODE_RETRYABLE);
    expect(first.termination?.phase).toBe('Failed');
    expect(await fsp.readFile(path.join(target, 'keep.txt'), 'utf8')).toBe(
      USER_FILE,
    );
    h.proxy.clear();

    // Attempt 2: the pod retried, the same restore.
    const second = await h.run({ request: req, target });
    expect(second.termination).toMatchObject({ phase: 'Succeeded' });
    const tree = await readTree(target);
    expect(tree.get('keep.txt')!.toString()).toBe(USER_FILE);
    expect(md5(tree.get('big.bin')!)).toBe(md5(archiveFiles[1].body as Buffer));
    expect(tree.get('z.txt')!.toString()).toBe('last');
  });

  it("objects, skip-existing: keep.txt stays the user's over two attempts; what attempt 1 wrote is its own", async () => {
    const target = await volumeWithUserFile();
    const req = request({ prefix: 'objs/' }, 'skip-existing');
    h.proxy.add({
      match: getOf('objs/b.bin'),
      action: { type: 'status', status: 500, code: 'InternalError' },
    });
    const first = await h.run({
      request: req,
      target,
      options: { retry: { attempts: 1 } },
    });
    expect(first.code).toBe(EXIT_CODE_RETRYABLE);
    h.proxy.clear();
    const second = await h.run({ request: req, target });
    expect(second.termination).toMatchObject({ phase: 'Succeeded' });
    const tree = await readTree(target);
    expect(tree.get('keep.txt')!.toString()).toBe(USER_FILE);
    expect([...tree.keys()].sort()).toEqual(['a.bin', 'b.bin', 'keep.txt']);
  });

  it("objects, skip-existing: a directory absent when planned that becomes a link to the user's files is looked into before writing", async () => {
    await h.server.put('safety', 'lnk/d/x', 'from the bucket');
    // Archived: planned (d absent) well before it is written, after the thaw. At the first HEAD,
    // after the planning look, someone makes d a link to keep.
    h.proxy.archive('lnk/d/x', 'GLACIER', 2);
    const { target, linked } = await volumeLinkedAt('HEAD', 'lnk/d/x');
    try {
      const run = await h.run({
        request: request(
          { prefix: 'lnk/', archive: { tier: 'Bulk', pollSeconds: 1 } },
          'skip-existing',
        ),
        target,
      });
      await expectLinkLookedInto(run, target, linked);
    } finally {
      h.proxy.clear();
    }
  });

  it.each([
    ['the first window decided at once', 'lnk2', 'd'],
    // d/e is known absent from d's look, with no look of its own
    ["known from its parent's look", 'lnk3', 'd/e'],
  ])(
    "objects, skip-existing: a directory absent at planning (%s) that becomes a link to the user's files is looked into before writing",
    async (_, prefix, link) => {
      await h.server.put('safety', `${prefix}/a/big.bin`, body(5, 200_000));
      await h.server.put('safety', `${prefix}/${link}/x`, 'from the bucket');
      // Not archived: planned without a look at its path. One transfer at a time, the larger
      // first: at its GET, after the planning, someone makes the directory a link to keep.
      const { target, linked } = await volumeLinkedAt(
        'GET',
        `${prefix}/a/big.bin`,
        link,
      );
      const req = request({ prefix: `${prefix}/` }, 'skip-existing');
      const run = await h.run({
        request: { ...req, options: { ...req.options, concurrency: 1 } },
        target,
      });
      await expectLinkLookedInto(run, target, linked);
      expect(
        (await fsp.readFile(path.join(target, 'a', 'big.bin'))).length,
      ).toBe(200_000);
    },
  );

  it("tar, fail: a file that appears after the first attempt claimed the volume is not the restore's to keep, and the retry replaces only its own", async () => {
    const target = await h.newTarget();
    const req = request({ key: 'data.tar', format: 'tar' }, 'fail');
    h.proxy.add({
      match: getOf('data.tar'),
      action: { type: 'reset', afterBytes: 1024 * 1024 },
    });
    const first = await h.run({
      request: req,
      target,
      options: { retry: { attempts: 1 } },
    });
    expect(first.code).toBe(EXIT_CODE_RETRYABLE);
    h.proxy.clear();
    // keep.txt was written by attempt 1: attempt 2 replaces it without a PATH_CONFLICT.
    const second = await h.run({ request: req, target });
    expect(second.termination).toMatchObject({ phase: 'Succeeded' });
    expect(await fsp.readFile(path.join(target, 'keep.txt'), 'utf8')).toBe(
      'from the archive',
    );
  });
});

it('tar: links an attempt killed while making them had not checked are checked by the next attempt, even one that fails early', async () => {
  // What a pod killed (SIGKILL, OOM) in the middle of its links leaves: the claim, the manifest with
  // the links it recorded before making them, and links whose final check never ran.
  const target = await h.newTarget();
  const req = request({ key: 'data.tar', format: 'tar' }, 'overwrite');
  await fsp.writeFile(path.join(h.base, 'victim-file'), 'outside');
  await fsp.mkdir(path.join(target, '.kube-restore'));
  await fsp.writeFile(
    path.join(target, '.kube-restore/restore-id'),
    `${req.name}\nshards 1\n`,
  );
  const entry = (p: string) =>
    JSON.stringify({
      type: 'entry',
      entry: p,
      path: p,
      size: 0,
      kind: 'symlink',
    });
  await fsp.writeFile(
    path.join(target, '.kube-restore/manifest.jsonl'),
    `${entry('a')}\n${entry('m')}\n`,
  );
  await fsp.symlink('m/../victim-file', path.join(target, 'a'));
  await fsp.symlink('.', path.join(target, 'm'));
  // The retry fails before it extracts anything.
  h.proxy.add({
    match: getOf('data.tar'),
    action: { type: 'status', status: 500, code: 'InternalError' },
  });
  const run = await h.run({
    request: req,
    target,
    options: { retry: { attempts: 1 } },
  });
  expect(run.termination?.phase).toBe('Failed');
  await expect(fsp.lstat(path.join(target, 'a'))).rejects.toMatchObject({
    code: 'ENOENT',
  });
  expect(await fsp.readlink(path.join(target, 'm'))).toBe('.');
});

describe('one writer per volume', () => {
  it('a second restore is refused with TARGET_IN_USE naming the first while the first is live; free once it finished', async () => {
    const target = await h.newTarget();
    const first = request({ prefix: 'objs/' }, 'overwrite', 'first-restore');
    h.proxy.add({
      match: getOf('objs/b.bin'),
      action: { type: 'status', status: 500, code: 'InternalError' },
    });
    const failed = await h.run({
      request: first,
      target,
      options: { retry: { attempts: 1 } },
    });
    expect(failed.code).toBe(EXIT_CODE_RETRYABLE);
    h.proxy.clear();
    const manifestBefore = await fsp.readFile(
      path.join(target, '.kube-restore/manifest.jsonl'),
      'utf8',
    );

    // A retry of first-restore will come: the volume is still its.
    const second = request(
      { key: 'data.tar', format: 'tar' },
      'overwrite',
      'second-restore',
    );
    const refused = await h.run({ request: second, target });
    expect(refused.code).toBe(EXIT_CODE_FATAL);
    expect(refused.termination).toMatchObject({
      phase: 'Failed',
      code: 'TARGET_IN_USE',
    });
    expect(refused.termination?.message).toContain('"first-restore"');
    // Nothing of the second was written; the first's manifest and claim are intact.
    expect((await readTree(target)).has('big.bin')).toBe(false);
    expect(
      await fsp.readFile(
        path.join(target, '.kube-restore/manifest.jsonl'),
        'utf8',
      ),
    ).toBe(manifestBefore);
    expect(
      await fsp.readFile(path.join(target, '.kube-restore/restore-id'), 'utf8'),
    ).toMatch(/^first-restore\n/);

    // first-restore's retry finishes it; then the second may write.
    const retried = await h.run({ request: first, target });
    expect(retried.termination?.phase).toBe('Succeeded');
    const after = await h.run({ request: second, target });
    expect(after.termination).toMatchObject({ phase: 'Succeeded' });
    expect((await readTree(target)).has('big.bin')).toBe(true);
  });

  it('a claim whose pods stopped beating for longer than the stale limit may be taken over', async () => {
    const target = await h.newTarget();
    await fsp.mkdir(path.join(target, '.kube-restore'));
    await fsp.writeFile(
      path.join(target, '.kube-restore/restore-id'),
      'gone-restore\nshards 1\n',
    );
    const old = new Date(Date.now() - 3600_000);
    await fsp.utimes(path.join(target, '.kube-restore/restore-id'), old, old);
    const run = await h.run({
      request: request({ prefix: 'objs/' }, 'overwrite'),
      target,
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded' });
  });

  it('.kube-restore as a link out of the volume is refused; nothing is written through it', async () => {
    const target = await h.newTarget();
    const elsewhere = await fsp.mkdtemp(path.join(h.base, 'elsewhere-'));
    await fsp.symlink(elsewhere, path.join(target, '.kube-restore'));
    const run = await h.run({
      request: request({ prefix: 'objs/' }, 'overwrite'),
      target,
    });
    expect(run.code).toBe(EXIT_CODE_FATAL);
    expect(run.termination).toMatchObject({
      code: 'UNSAFE_PATH',
      entry: '.kube-restore',
    });
    expect(await fsp.readdir(elsewhere)).toEqual([]);
  });

  it('a manifest that is a link is not followed', async () => {
    const target = await h.newTarget();
    const victim = path.join(h.base, 'victim-manifest');
    await fsp.writeFile(victim, 'precious');
    await fsp.mkdir(path.join(target, '.kube-restore'));
    await fsp.symlink(
      victim,
      path.join(target, '.kube-restore/manifest.jsonl'),
    );
    await fsp.writeFile(
      path.join(target, '.kube-restore/restore-id'),
      `${request({ prefix: 'objs/' }, 'overwrite').name}\nshards 1\n`,
    );
    const run = await h.run({
      request: request({ prefix: 'objs/' }, 'overwrite'),
      target,
    });
    expect(run.termination?.phase).toBe('Failed');
    expect(await fsp.readFile(victim, 'utf8')).toBe('precious');
  });
});

describe('what the request may ask', () => {
  it('a setuid fileMode is INVALID_REQUEST (fatal) unless the Job says the deployment allows it', async () => {
    const target = await h.newTarget();
    const req = h.request(
      { prefix: 'objs/' },
      { options: { owner: { fileMode: '4755' } } },
    );
    const refused = await h.run({ request: req, target });
    expect(refused.code).toBe(EXIT_CODE_FATAL);
    expect(refused.termination).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(refused.termination?.message).toContain('options.owner.fileMode');
    expect((await readTree(target)).size).toBe(0);
    const allowed = await h.run({
      request: req,
      target,
      env: { KUBE_RESTORE_ALLOW_SPECIAL_MODE_BITS: 'true' },
    });
    expect(allowed.termination?.phase).toBe('Succeeded');
    const st = await fsp.stat(path.join(target, 'a.bin'));
    expect(st.mode & 0o7777).toBe(0o4755);
  });

  it('an archive entry of an unknown type fails it; with skipUnsupportedEntries the summary names it', async () => {
    const target = await h.newTarget();
    const failed = await h.run({
      request: request({ key: 'sparse.tar', format: 'tar' }, 'fail'),
      target,
    });
    expect(failed.code).toBe(EXIT_CODE_FATAL);
    expect(failed.termination).toMatchObject({
      code: 'INVALID_ARCHIVE',
      entry: 'sparse.img',
    });
    const skipped = await h.run({
      request: request(
        { key: 'sparse.tar', format: 'tar', skipUnsupportedEntries: true },
        'overwrite',
      ),
      target,
    });
    expect(skipped.termination?.phase).toBe('Succeeded');
    expect(skipped.termination?.message).toContain(
      '1 archive entry of unsupported types not restored: "sparse.img" (unknown)',
    );
  });
});

describe('credentials come only from the source the request names', () => {
  const unused = {
    accessKeyId: 'unused-id-1',
    secretAccessKey: 'unused-key-1',
  };

  it.each([
    ['none', { type: 'none' }],
    ['secret', { type: 'secret', secretName: 's3-reader' }],
    ['serviceAccount', { type: 'serviceAccount', serviceAccountName: 'sa' }],
  ])(
    '%s without its keys is INVALID_CREDENTIALS (fatal) and never asks the node',
    async (_, credentials) => {
      const imds = await fakeImds(h.credentials());
      try {
        const run = await h.run({
          request: {
            ...request({ prefix: 'objs/' }, 'overwrite'),
            credentials: credentials as never,
          },
          target: await h.newTarget(),
          credentials: unused,
          env: imds.env,
        });
        expect(run.termination).toMatchObject({ code: 'INVALID_CREDENTIALS' });
        expect(run.code).toBe(EXIT_CODE_FATAL);
        expect(imds.requests).toEqual([]);
      } finally {
        await imds.close();
      }
    },
  );

  it('anonymous: a public bucket restores with unsigned requests, and nothing asks for credentials', async () => {
    const imds = await fakeImds(h.credentials());
    let signed = 0;
    h.proxy.add({
      match: r => {
        if (r.headers.authorization) signed++;
        return false;
      },
      action: { type: 'status', status: 500, code: 'InternalError' },
    });
    try {
      const target = await h.newTarget();
      const run = await h.run({
        request: {
          ...request({ prefix: 'objs/' }, 'overwrite'),
          source: {
            endpoint: h.proxy.endpoint,
            bucket: 'public',
            prefix: 'objs/',
          },
          credentials: { type: 'anonymous' },
        },
        target,
        credentials: unused,
        env: imds.env,
      });
      expect(run.termination?.phase).toBe('Succeeded');
      expect((await readTree(target)).get('a.bin')!.length).toBe(300_000);
      expect(signed).toBe(0);
      expect(imds.requests).toEqual([]);
      // The same unsigned requests to a private bucket are refused.
      const refused = await h.run({
        request: {
          ...request({ prefix: 'objs/' }, 'overwrite'),
          credentials: { type: 'anonymous' },
        },
        target: await h.newTarget(),
        credentials: unused,
        env: imds.env,
      });
      expect(refused.termination).toMatchObject({ code: 'ACCESS_DENIED' });
    } finally {
      await imds.close();
    }
  });

  it("nodeIdentity, by name, uses the node's instance metadata", async () => {
    const imds = await fakeImds(h.credentials());
    try {
      const target = await h.newTarget();
      const run = await h.run({
        request: {
          ...request({ prefix: 'objs/' }, 'overwrite'),
          credentials: { type: 'nodeIdentity' },
        },
        target,
        credentials: unused,
        env: imds.env,
      });
      expect(imds.requests).toContain('PUT /latest/api/token');
      expect(run.termination?.phase).toBe('Succeeded');
      expect((await readTree(target)).has('a.bin')).toBe(true);
    } finally {
      await imds.close();
    }
  });
});

it('an archive path longer than PATH_MAX is UNSAFE_PATH, fatal (not retried)', async () => {
  const target = await h.newTarget();
  const run = await h.run({
    request: request({ key: 'long.tar', format: 'tar' }, 'fail'),
    target,
  });
  expect(run.termination).toMatchObject({
    phase: 'Failed',
    code: 'UNSAFE_PATH',
  });
  expect(run.code).toBe(EXIT_CODE_FATAL);
});
