/**
 * restore-job against a real MinIO: every source and option, end to end through the bundle.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import * as tar from 'tar-stream';
import {
  EXIT_CODE_FATAL,
  MANIFEST_FILE,
  RestoreRequestInput,
} from '@kube-restore/common';
import { FaultProxy } from './__testUtils__/faultProxy';
import { readTree, runJob, temporaries } from './__testUtils__/job';
import { MinioServer, startMinio } from './__testUtils__/minio';

jest.setTimeout(120_000);

let minio: MinioServer;
let proxy: FaultProxy;
let base: string;
let n = 0;

/** Objects of bucket `src` under `data/`, as the restore must reproduce them. */
const objects = new Map<string, Buffer>();

function body(seed: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (seed * 131 + i * 7 + (i >> 8)) & 0xff;
  return b;
}

async function newTarget(): Promise<string> {
  const dir = path.join(base, `t${++n}`);
  await fsp.mkdir(dir);
  return dir;
}

function request(
  source: Record<string, unknown>,
  extra: Partial<RestoreRequestInput> = {},
): RestoreRequestInput {
  return {
    name: `r${n}`,
    source: {
      endpoint: minio.endpoint,
      bucket: 'src',
      ...source,
    } as RestoreRequestInput['source'],
    target: { namespace: 'team-a', pvc: 'data', ...(extra.target ?? {}) },
    ...(extra.options ? { options: extra.options } : {}),
  };
}

const credentials = () => ({
  accessKeyId: minio.accessKey,
  secretAccessKey: minio.secretKey,
});

async function pack(
  entries: Array<{
    name: string;
    body?: string | Buffer;
    type?: 'directory' | 'symlink';
    linkname?: string;
  }>,
): Promise<Buffer> {
  const p = tar.pack();
  const out: Buffer[] = [];
  const done = (async () => {
    for await (const c of p as AsyncIterable<Buffer>) out.push(c);
  })();
  for (const e of entries) {
    const content =
      e.body === undefined ? Buffer.alloc(0) : Buffer.from(e.body);
    await new Promise<void>((resolve, reject) =>
      p.entry(
        {
          name: e.name,
          type: e.type ?? 'file',
          linkname: e.linkname,
          size: e.type ? 0 : content.length,
          mode: 0o644,
        },
        content,
        err => (err ? reject(err) : resolve()),
      ),
    );
  }
  p.finalize();
  await done;
  return Buffer.concat(out);
}

beforeAll(async () => {
  base = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-it-'));
  minio = await startMinio();
  proxy = await FaultProxy.start(minio.endpoint);
  await minio.createBucket('src');
  const awkward: Array<[string, Buffer]> = [
    ['data/plain.txt', Buffer.from('plain\n')],
    ['data/ünïcødé/ファイル.txt', Buffer.from('unicode')],
    ['data/with space/and%percent+plus.txt', Buffer.from('spaces')],
    ['data/empty.bin', Buffer.alloc(0)],
    [`data/long/${'d'.repeat(200)}/${'f'.repeat(250)}`, Buffer.from('long')],
    ['data/deep/a/b/c/d/e/f.txt', Buffer.from('deep')],
    ['data/bin/one-mib.bin', body(1, 1024 * 1024 + 17)],
  ];
  for (let i = 0; i < 40; i++)
    awkward.push([
      `data/many/${String(i).padStart(3, '0')}.dat`,
      body(i, 1000 + i * 37),
    ]);
  for (const [key, b] of awkward) {
    await minio.put('src', key, b);
    objects.set(key, b);
  }
  // Folder marker: restored as a directory, not a file.
  await minio.put('src', 'data/folder/', '');
  // Additional checksums.
  await minio.put('src', 'data/sums/crc32c.bin', body(5, 70_000), {
    ChecksumAlgorithm: 'CRC32C',
  });
  objects.set('data/sums/crc32c.bin', body(5, 70_000));
  await minio.put('src', 'data/sums/sha256.bin', body(6, 70_000), {
    ChecksumAlgorithm: 'SHA256',
  });
  objects.set('data/sums/sha256.bin', body(6, 70_000));
  // A multipart object: its ETag is not an MD5.
  const mp = await minio.client.send(
    new CreateMultipartUploadCommand({
      Bucket: 'src',
      Key: 'data/multipart.bin',
    }),
  );
  const p1 = body(7, 5 * 1024 * 1024);
  const p2 = body(8, 1234);
  const u1 = await minio.client.send(
    new UploadPartCommand({
      Bucket: 'src',
      Key: 'data/multipart.bin',
      UploadId: mp.UploadId,
      PartNumber: 1,
      Body: p1,
    }),
  );
  const u2 = await minio.client.send(
    new UploadPartCommand({
      Bucket: 'src',
      Key: 'data/multipart.bin',
      UploadId: mp.UploadId,
      PartNumber: 2,
      Body: p2,
    }),
  );
  await minio.client.send(
    new CompleteMultipartUploadCommand({
      Bucket: 'src',
      Key: 'data/multipart.bin',
      UploadId: mp.UploadId,
      MultipartUpload: {
        Parts: [
          { ETag: u1.ETag, PartNumber: 1 },
          { ETag: u2.ETag, PartNumber: 2 },
        ],
      },
    }),
  );
  objects.set('data/multipart.bin', Buffer.concat([p1, p2]));

  // Conflicting keys elsewhere.
  await minio.put('src', 'conflict/a', 'file a');
  // MinIO cannot hold both `a` and `a/b` (AWS S3 can): the proxy lists `a2` as `a/b`.
  await minio.put('src', 'conflict/a2', 'file a/b');
  // MinIO refuses to store keys with ".." segments (AWS S3 does not): the proxy lists one.
  await minio.put('src', 'escape/dotdot', 'evil');

  // Archives.
  const archiveEntries = [
    { name: 'db/', type: 'directory' as const },
    { name: 'db/table.dat', body: body(9, 300_000) },
    { name: 'db/link', type: 'symlink' as const, linkname: 'table.dat' },
    { name: 'README', body: 'restored from a tar\n' },
  ];
  const plainTar = await pack(archiveEntries);
  await minio.put('src', 'archives/backup.tar.gz', zlib.gzipSync(plainTar));
  await minio.put('src', 'archives/backup-no-extension', plainTar);
  await minio.put(
    'src',
    'archives/evil.tar',
    await pack([{ name: '../../escaped', body: 'x' }]),
  );
  await minio.put(
    'src',
    'archives/truncated.tar.gz',
    zlib.gzipSync(plainTar).subarray(0, 2000),
  );
  await minio.put(
    'src',
    'archives/notes.txt',
    'just a text file, not an archive, of more than a few bytes '.repeat(20),
  );
});

afterAll(async () => {
  await proxy?.close();
  await minio?.stop();
  if (base) await fsp.rm(base, { recursive: true, force: true });
});

afterEach(() => proxy.clear());

function expectTreeEquals(
  tree: Map<string, Buffer>,
  expected: Map<string, Buffer>,
) {
  expect([...tree.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [k, v] of expected)
    expect(createHash('md5').update(tree.get(k)!).digest('hex')).toBe(
      createHash('md5').update(v).digest('hex'),
    );
}

describe('objects under a prefix', () => {
  it('restores every object byte for byte, awkward keys included, and reports it', async () => {
    const target = await newTarget();
    const run = await runJob({
      request: request({ prefix: 'data/' }),
      target,
      credentials: credentials(),
    });
    expect(run.stderr).toBe('');
    expect(run.termination).toMatchObject({
      phase: 'Succeeded',
      objects: objects.size,
      objectsSkipped: 0,
      manifest: MANIFEST_FILE,
    });
    expect(run.code).toBe(0);
    const expected = new Map(
      [...objects].map(([k, v]) => [k.slice('data/'.length), v]),
    );
    expectTreeEquals(await readTree(target), expected);
    expect((await fsp.stat(path.join(target, 'folder'))).isDirectory()).toBe(
      true,
    );
    expect(await temporaries(target)).toEqual([]);
    // Progress: totals known before the transfer, every phase in order.
    const phases = run.progress.map(p => p.phase);
    expect(phases.filter((p, i) => p !== phases[i - 1])).toEqual([
      'Planning',
      'Restoring',
      'Verifying',
      'Succeeded',
    ]);
    const restoring = run.progress.find(p => p.phase === 'Restoring')!;
    expect(restoring.objectsTotal).toBe(objects.size);
    expect(restoring.bytesTotal).toBe(
      [...objects.values()].reduce((s, b) => s + b.length, 0),
    );
    // The manifest: one verified line per object, with the strongest checksum available.
    const manifest = (
      await fsp.readFile(path.join(target, MANIFEST_FILE), 'utf8')
    )
      .trim()
      .split('\n')
      .map(l => JSON.parse(l));
    const byKey = new Map(
      manifest.filter(l => l.type === 'object').map(l => [l.key, l]),
    );
    expect(byKey.size).toBe(objects.size);
    expect(byKey.get('data/sums/crc32c.bin').checksum).toMatch(/^crc32c:/);
    expect(byKey.get('data/sums/sha256.bin').checksum).toMatch(/^sha256:/);
    expect(byKey.get('data/multipart.bin').checksum).not.toMatch(/^md5:/);
    expect(byKey.get('data/plain.txt').checksum).toMatch(/^(md5|crc32|crc64)/);
    expect([...byKey.values()].every(l => l.verified === true)).toBe(true);
  });

  it('a second run skips everything the first verified, without a GET', async () => {
    const target = await newTarget();
    const req = {
      ...request({ prefix: 'data/', endpoint: proxy.endpoint }),
      name: 'resume-me',
    };
    const first = await runJob({
      request: req,
      target,
      credentials: credentials(),
    });
    expect(first.termination?.phase).toBe('Succeeded');
    proxy.log.length = 0;
    const second = await runJob({
      request: req,
      target,
      credentials: credentials(),
    });
    expect(second.termination).toMatchObject({
      phase: 'Succeeded',
      objects: 0,
      objectsSkipped: objects.size,
      bytes: 0,
    });
    expect(
      proxy.log.filter(r => r.method === 'GET' && r.key !== undefined),
    ).toEqual([]);
  });

  it('applies include/exclude globs and stripPrefix', async () => {
    const target = await newTarget();
    const run = await runJob({
      request: request({
        prefix: 'data/',
        include: ['many/**', 'deep/**'],
        exclude: ['many/0[1-3]*'],
        stripPrefix: 'many/',
      }),
      target,
      credentials: credentials(),
    });
    expect(run.termination?.phase).toBe('Succeeded');
    const tree = await readTree(target);
    expect(tree.has('000.dat')).toBe(true);
    expect(tree.has('010.dat')).toBe(false);
    expect(tree.has('039.dat')).toBe(false);
    expect(tree.has('009.dat')).toBe(true);
    // deep/ is not under stripPrefix many/: not restored.
    expect([...tree.keys()].some(k => k.includes('deep'))).toBe(false);
    expect(tree.size).toBe(40 - 30);
  });

  it('restores one key as a file named after it', async () => {
    const target = await newTarget();
    const run = await runJob({
      request: request({ key: 'data/bin/one-mib.bin' }),
      target,
      credentials: credentials(),
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 1 });
    expect(
      (await readTree(target))
        .get('one-mib.bin')!
        .equals(objects.get('data/bin/one-mib.bin')!),
    ).toBe(true);
  });

  it('refuses `a` and `a/b` both present with PATH_CONFLICT before writing anything', async () => {
    const target = await newTarget();
    proxy.rewriteListing = xml =>
      xml.replace('<Key>conflict/a2</Key>', '<Key>conflict/a/b</Key>');
    const run = await runJob({
      request: request({ prefix: 'conflict/', endpoint: proxy.endpoint }),
      target,
      credentials: credentials(),
    });
    expect(run.code).toBe(EXIT_CODE_FATAL);
    expect(run.termination).toMatchObject({
      phase: 'Failed',
      code: 'PATH_CONFLICT',
      failedPhase: 'Planning',
      entry: 'conflict/a/b',
    });
    expect((await readTree(target)).size).toBe(0);
  });

  it('refuses a key with ".." segments with UNSAFE_PATH', async () => {
    const target = await newTarget();
    proxy.rewriteListing = xml =>
      xml.replace('<Key>escape/dotdot</Key>', '<Key>escape/../../x</Key>');
    const run = await runJob({
      request: request({ prefix: 'escape/', endpoint: proxy.endpoint }),
      target,
      credentials: credentials(),
    });
    expect(run.code).toBe(EXIT_CODE_FATAL);
    expect(run.termination).toMatchObject({
      code: 'UNSAFE_PATH',
      entry: 'escape/../../x',
    });
    expect(await fsp.readdir(base)).not.toContain('x');
  });
});

describe('conflict policies on an existing volume', () => {
  it('fail: a volume with files in it is TARGET_NOT_EMPTY (lost+found does not count)', async () => {
    const target = await newTarget();
    await fsp.mkdir(path.join(target, 'lost+found'));
    await fsp.writeFile(path.join(target, 'precious.txt'), 'keep me');
    const run = await runJob({
      request: request({ prefix: 'data/many/' }),
      target,
      credentials: credentials(),
    });
    expect(run.code).toBe(EXIT_CODE_FATAL);
    expect(run.termination).toMatchObject({
      code: 'TARGET_NOT_EMPTY',
      entry: 'precious.txt',
    });
    expect(await fsp.readdir(target)).toEqual(
      expect.arrayContaining(['lost+found', 'precious.txt']),
    );
    expect((await fsp.readdir(target)).length).toBe(2);
  });

  it('skip-existing keeps what is there; overwrite replaces it', async () => {
    const target = await newTarget();
    await fsp.writeFile(path.join(target, '000.dat'), 'local edit');
    const skip = await runJob({
      request: request(
        { prefix: 'data/many/' },
        {
          target: {
            namespace: 'team-a',
            pvc: 'data',
            mode: 'existing',
            conflict: 'skip-existing',
          },
        },
      ),
      target,
      credentials: credentials(),
    });
    expect(skip.termination).toMatchObject({
      phase: 'Succeeded',
      objects: 39,
      objectsSkipped: 1,
    });
    expect(await fsp.readFile(path.join(target, '000.dat'), 'utf8')).toBe(
      'local edit',
    );
    const over = await runJob({
      request: {
        ...request(
          { prefix: 'data/many/' },
          {
            target: {
              namespace: 'team-a',
              pvc: 'data',
              mode: 'existing',
              conflict: 'overwrite',
            },
          },
        ),
        name: 'over',
      },
      target,
      credentials: credentials(),
    });
    expect(over.termination).toMatchObject({ phase: 'Succeeded', objects: 40 });
    expect(
      (await fsp.readFile(path.join(target, '000.dat'))).equals(
        objects.get('data/many/000.dat')!,
      ),
    ).toBe(true);
  });
});

describe('archives', () => {
  const expectArchiveRestored = async (target: string) => {
    const tree = await readTree(target);
    expect(tree.get('README')!.toString()).toBe('restored from a tar\n');
    expect(tree.get('db/table.dat')!.equals(body(9, 300_000))).toBe(true);
    expect(await fsp.readlink(path.join(target, 'db/link'))).toBe('table.dat');
  };

  it('extracts a .tar.gz while it streams', async () => {
    const target = await newTarget();
    const run = await runJob({
      request: request({ key: 'archives/backup.tar.gz' }),
      target,
      credentials: credentials(),
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 2 });
    await expectArchiveRestored(target);
    const manifest = await fsp.readFile(
      path.join(target, MANIFEST_FILE),
      'utf8',
    );
    expect(manifest).toContain('"type":"archive"');
  });

  it('recognises a tar by its magic bytes when the name does not say so', async () => {
    const target = await newTarget();
    const run = await runJob({
      request: request({ key: 'archives/backup-no-extension', format: 'auto' }),
      target,
      credentials: credentials(),
    });
    expect(run.termination?.phase).toBe('Succeeded');
    await expectArchiveRestored(target);
  });

  it('restores a non-archive key with format auto as a plain file', async () => {
    const target = await newTarget();
    const run = await runJob({
      request: request({ key: 'archives/notes.txt', format: 'auto' }),
      target,
      credentials: credentials(),
    });
    expect(run.termination?.phase).toBe('Succeeded');
    expect((await readTree(target)).has('notes.txt')).toBe(true);
  });

  it('refuses an archive entry that escapes, naming it', async () => {
    const target = await newTarget();
    const run = await runJob({
      request: request({ key: 'archives/evil.tar' }),
      target,
      credentials: credentials(),
    });
    expect(run.code).toBe(EXIT_CODE_FATAL);
    expect(run.termination).toMatchObject({
      code: 'UNSAFE_PATH',
      entry: '../../escaped',
    });
    expect(await fsp.readdir(base)).not.toContain('escaped');
  });

  it('a truncated archive is INVALID_ARCHIVE', async () => {
    const target = await newTarget();
    const run = await runJob({
      request: request({ key: 'archives/truncated.tar.gz' }),
      target,
      credentials: credentials(),
    });
    expect(run.termination).toMatchObject({ code: 'INVALID_ARCHIVE' });
    expect(run.code).toBe(EXIT_CODE_FATAL);
    expect(await temporaries(target)).toEqual([]);
  });
});

describe('errors fail fast with their codes', () => {
  it.each([
    [
      'a missing bucket',
      { bucket: 'no-such-bucket', prefix: '' },
      'NO_SUCH_BUCKET',
      EXIT_CODE_FATAL,
    ],
    ['a missing key', { key: 'data/nope.bin' }, 'NO_SUCH_KEY', EXIT_CODE_FATAL],
    [
      'an empty prefix',
      { prefix: 'nothing-here/' },
      'NO_OBJECTS',
      EXIT_CODE_FATAL,
    ],
  ])('%s', async (_, source, code, exit) => {
    const target = await newTarget();
    const run = await runJob({
      request: request(source),
      target,
      credentials: credentials(),
    });
    expect(run.termination).toMatchObject({ phase: 'Failed', code });
    expect(run.code).toBe(exit);
  });

  it('wrong credentials are INVALID_CREDENTIALS, and neither value is printed', async () => {
    const target = await newTarget();
    const run = await runJob({
      request: request({ prefix: 'data/' }),
      target,
      credentials: {
        accessKeyId: minio.accessKey,
        secretAccessKey: 'wrong-secret-value-123',
      },
    });
    expect(run.termination).toMatchObject({
      phase: 'Failed',
      code: 'INVALID_CREDENTIALS',
    });
    expect(run.code).toBe(EXIT_CODE_FATAL);
    expect(run.stdout + run.terminationRaw).not.toContain(
      'wrong-secret-value-123',
    );
  });

  it('an invalid request is INVALID_REQUEST naming the field', async () => {
    const target = await newTarget();
    const run = await runJob({
      request: {
        source: { bucket: 'src', prefix: 'no-slash' },
        target: { namespace: 'a', pvc: 'b' },
      } as never,
      target,
      credentials: credentials(),
    });
    expect(run.termination).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(run.termination?.message).toContain('source.prefix');
    expect(run.code).toBe(EXIT_CODE_FATAL);
  });
});

describe('asOf (versioned bucket)', () => {
  it('restores the newest version at or before the time, respecting delete markers', async () => {
    await minio.createBucket('versioned', { versioned: true });
    await minio.put('versioned', 'v/a.txt', 'a-v1');
    await minio.put('versioned', 'v/gone-later.txt', 'was here');
    await minio.put('versioned', 'v/gone-before.txt', 'deleted before asOf');
    await minio.client.send(
      new DeleteObjectCommand({
        Bucket: 'versioned',
        Key: 'v/gone-before.txt',
      }),
    );
    await new Promise(r => setTimeout(r, 1100));
    const asOf = new Date().toISOString();
    await new Promise(r => setTimeout(r, 1100));
    await minio.put('versioned', 'v/a.txt', 'a-v2');
    await minio.put('versioned', 'v/new.txt', 'created after asOf');
    await minio.client.send(
      new DeleteObjectCommand({ Bucket: 'versioned', Key: 'v/gone-later.txt' }),
    );

    const target = await newTarget();
    const run = await runJob({
      request: request({ bucket: 'versioned', prefix: 'v/', asOf }),
      target,
      credentials: credentials(),
    });
    expect(run.termination?.phase).toBe('Succeeded');
    const tree = await readTree(target);
    expect(
      Object.fromEntries([...tree].map(([k, v]) => [k, v.toString()])),
    ).toEqual({ 'a.txt': 'a-v1', 'gone-later.txt': 'was here' });
  });
});

describe('sharding (Indexed Job)', () => {
  it('three shards restore exactly the whole set once, each with its own manifest', async () => {
    const target = await newTarget();
    const req = {
      ...request({ prefix: 'data/' }, { options: { parallelism: 3 } }),
      name: 'sharded',
    };
    const runs = await Promise.all(
      [0, 1, 2].map(i =>
        runJob({
          request: req,
          target,
          credentials: credentials(),
          env: { JOB_COMPLETION_INDEX: String(i) },
        }),
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
    const target = await newTarget();
    const started = Date.now();
    const run = await runJob({
      request: request(
        { prefix: 'data/bin/' },
        { options: { bandwidth: '400Ki' } },
      ),
      target,
      credentials: credentials(),
    });
    expect(run.termination?.phase).toBe('Succeeded');
    // 1 MiB at 400 KiB/s with a one-second burst: at least about 1.5 s.
    expect(Date.now() - started).toBeGreaterThan(1500);
  });
});

describe('archived (Glacier) objects, through the fault proxy', () => {
  beforeEach(() => {
    proxy.archive('data/many/005.dat', 'GLACIER', 2);
    proxy.archive('data/many/006.dat', 'DEEP_ARCHIVE', 3);
  });

  it('tier "fail": ARCHIVED_OBJECT before anything is written', async () => {
    const target = await newTarget();
    const run = await runJob({
      request: request({ prefix: 'data/many/', endpoint: proxy.endpoint }),
      target,
      credentials: credentials(),
    });
    expect(run.code).toBe(EXIT_CODE_FATAL);
    expect(run.termination).toMatchObject({
      code: 'ARCHIVED_OBJECT',
      failedPhase: 'Planning',
    });
    expect((await readTree(target)).size).toBe(0);
    expect(proxy.log.some(r => r.method === 'POST')).toBe(false);
  });

  it('a thaw tier: RestoreObject, Thawing with counts, poll, then restore', async () => {
    const target = await newTarget();
    const run = await runJob({
      request: request({
        prefix: 'data/many/',
        endpoint: proxy.endpoint,
        archive: { tier: 'Bulk', days: 2 },
      }),
      target,
      credentials: credentials(),
      env: {
        KUBE_RESTORE_THAW_POLL_MS: '100',
        KUBE_RESTORE_THAW_POLL_MAX_MS: '200',
      },
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 40 });
    const thawing = run.progress.filter(p => p.phase === 'Thawing');
    expect(thawing[0]?.thaw).toEqual({ waiting: 2, ready: 0 });
    expect(proxy.archived.get('data/many/005.dat')).toMatchObject({
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

  it('SIGTERM while thawing: CANCELLED (retryable), nothing written', async () => {
    proxy.archive('data/many/005.dat', 'GLACIER', 1_000_000);
    const target = await newTarget();
    const run = await runJob({
      request: request({
        prefix: 'data/many/',
        endpoint: proxy.endpoint,
        archive: { tier: 'Standard', waitSeconds: 60 },
      }),
      target,
      credentials: credentials(),
      env: { KUBE_RESTORE_THAW_POLL_MS: '20000' },
      sigtermWhen: l => l.type === 'progress' && l.phase === 'Thawing',
    });
    // Stopped while thawing: CANCELLED (retryable), nothing written.
    expect(run.termination).toMatchObject({
      code: 'CANCELLED',
      failedPhase: 'Thawing',
    });
    expect(run.code).toBe(1);
    expect((await readTree(target)).size).toBe(0);
  });
});
