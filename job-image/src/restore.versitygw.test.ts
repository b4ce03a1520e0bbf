/**
 * restore-job against versitygw (a second S3 implementation, over a POSIX directory), through the
 * bundle, on the happy paths the MinIO suite covers: objects under a prefix, one key, a tar.gz, globs,
 * verification and the manifest, a resumed run, and the error codes. What versitygw does differently
 * from MinIO is pinned here and listed in job-image/README.md.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectCommandInput,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import * as tar from 'tar-stream';
import {
  EXIT_CODE_FATAL,
  MANIFEST_FILE,
  RestoreRequestInput,
} from '@kube-restore/common';
import { S3Server, startS3Server } from '@kube-restore/test-cluster';
import { readTree, runJob, temporaries } from './__testUtils__/job';

jest.setTimeout(120_000);

let server: S3Server;
let client: S3Client;
let base: string;
let n = 0;

/** Objects of bucket `src` under `data/`, as the restore must reproduce them. */
const objects = new Map<string, Buffer>();

function body(seed: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (seed * 131 + i * 7 + (i >> 8)) & 0xff;
  return b;
}

const put = (
  key: string,
  content: Buffer | string,
  extra: Partial<PutObjectCommandInput> = {},
) =>
  client.send(
    new PutObjectCommand({ Bucket: 'src', Key: key, Body: content, ...extra }),
  );

async function newTarget(): Promise<string> {
  const dir = path.join(base, `t${++n}`);
  await fsp.mkdir(dir);
  return dir;
}

function request(source: Record<string, unknown>): RestoreRequestInput {
  return {
    name: `vgw${n}`,
    source: {
      endpoint: server.endpoint,
      bucket: 'src',
      ...source,
    } as RestoreRequestInput['source'],
    target: { namespace: 'team-a', pvc: 'data' },
  };
}

const credentials = () => ({
  accessKeyId: server.accessKeyId,
  secretAccessKey: server.secretAccessKey,
});

async function pack(
  entries: Array<{ name: string; body?: string | Buffer }>,
): Promise<Buffer> {
  const p = tar.pack();
  const out: Buffer[] = [];
  const done = (async () => {
    for await (const c of p as AsyncIterable<Buffer>) out.push(c);
  })();
  for (const e of entries) {
    const content = Buffer.from(e.body ?? '');
    await new Promise<void>((resolve, reject) =>
      p.entry(
        { name: e.name, size: content.length, mode: 0o644 },
        content,
        err => (err ? reject(err) : resolve()),
      ),
    );
  }
  p.finalize();
  await done;
  return Buffer.concat(out);
}

/**
 * A valid zstd frame that stores `data` in one raw (uncompressed) block: enough to test what the job
 * does with zstd without a zstd encoder (magic, frame header with a 1 MiB window, last-block header).
 */
function zstdStored(data: Buffer): Buffer {
  if (data.length >= 128 * 1024)
    throw new Error('one raw block holds < 128 KiB');
  const blockHeader = (data.length << 3) | 1;
  return Buffer.concat([
    Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x50]),
    Buffer.from([
      blockHeader & 0xff,
      (blockHeader >> 8) & 0xff,
      (blockHeader >> 16) & 0xff,
    ]),
    data,
  ]);
}

async function manifestOf(target: string) {
  return (await fsp.readFile(path.join(target, MANIFEST_FILE), 'utf8'))
    .trim()
    .split('\n')
    .map(l => JSON.parse(l));
}

beforeAll(async () => {
  base = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-vgw-'));
  server = await startS3Server({ kind: 'versitygw' });
  client = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: credentials(),
  });
  await client.send(new CreateBucketCommand({ Bucket: 'src' }));
  const plain: Array<[string, Buffer]> = [
    ['data/plain.txt', Buffer.from('plain\n')],
    ['data/ünïcødé/ファイル.txt', Buffer.from('unicode')],
    ['data/with space/and%percent+plus.txt', Buffer.from('spaces')],
    ['data/empty.bin', Buffer.alloc(0)],
    [`data/long/${'d'.repeat(200)}/${'f'.repeat(250)}`, Buffer.from('long')],
    ['data/deep/a/b/c/d/e/f.txt', Buffer.from('deep')],
    ['data/bin/one-mib.bin', body(1, 1024 * 1024 + 17)],
  ];
  for (let i = 0; i < 12; i++)
    plain.push([
      `data/many/${String(i).padStart(3, '0')}.dat`,
      body(i, 1000 + i * 37),
    ]);
  for (const [key, b] of plain) {
    await put(key, b);
    objects.set(key, b);
  }
  // Folder marker: restored as a directory, not a file.
  await put('data/folder/', '');
  await put('data/sums/crc32c.bin', body(5, 70_000), {
    ChecksumAlgorithm: 'CRC32C',
  });
  objects.set('data/sums/crc32c.bin', body(5, 70_000));
  await put('data/sums/sha256.bin', body(6, 70_000), {
    ChecksumAlgorithm: 'SHA256',
  });
  objects.set('data/sums/sha256.bin', body(6, 70_000));
  // A multipart object: its ETag is not an MD5.
  const mp = await client.send(
    new CreateMultipartUploadCommand({
      Bucket: 'src',
      Key: 'data/multipart.bin',
    }),
  );
  const parts = [body(7, 5 * 1024 * 1024), body(8, 1234)];
  const etags: string[] = [];
  for (const [i, part] of parts.entries()) {
    const r = await client.send(
      new UploadPartCommand({
        Bucket: 'src',
        Key: 'data/multipart.bin',
        UploadId: mp.UploadId,
        PartNumber: i + 1,
        Body: part,
      }),
    );
    etags.push(r.ETag!);
  }
  await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: 'src',
      Key: 'data/multipart.bin',
      UploadId: mp.UploadId,
      MultipartUpload: {
        Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })),
      },
    }),
  );
  objects.set('data/multipart.bin', Buffer.concat(parts));

  const archive = await pack([
    { name: 'db/table.dat', body: body(9, 300_000) },
    { name: 'README', body: 'restored from a tar\n' },
  ]);
  await put('archives/backup.tar.gz', zlib.gzipSync(archive));
  await put('archives/backup-no-extension', archive);
  await put(
    'archives/backup.tar.zst',
    zstdStored(await pack([{ name: 'README', body: 'zstd\n' }])),
  );
});

afterAll(async () => {
  client?.destroy();
  await server?.stop();
  if (base) await fsp.rm(base, { recursive: true, force: true });
});

describe('objects under a prefix', () => {
  it('restores every object byte for byte, verifies each and writes the manifest', async () => {
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
    const tree = await readTree(target);
    const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
    expect(
      [...tree]
        .map(([k, v]) => [k, md5(v)])
        .sort(([a], [b]) => (a < b ? -1 : 1)),
    ).toEqual(
      [...objects]
        .map(([k, v]) => [k.slice('data/'.length), md5(v)])
        .sort(([a], [b]) => (a < b ? -1 : 1)),
    );
    expect(await temporaries(target)).toEqual([]);
    expect((await fsp.stat(path.join(target, 'folder'))).isDirectory()).toBe(
      true,
    );
    const phases = run.progress.map(p => p.phase);
    expect(phases.filter((p, i) => p !== phases[i - 1])).toEqual([
      'Planning',
      'Restoring',
      'Verifying',
      'Succeeded',
    ]);
    const byKey = new Map(
      (await manifestOf(target))
        .filter(l => l.type === 'object')
        .map(l => [l.key, l]),
    );
    expect(byKey.size).toBe(objects.size);
    expect([...byKey.values()].every(l => l.verified === true)).toBe(true);
    // versitygw stores and returns the additional checksums, as MinIO does.
    expect(byKey.get('data/sums/crc32c.bin').checksum).toMatch(/^crc32c:/);
    expect(byKey.get('data/sums/sha256.bin').checksum).toMatch(/^sha256:/);
    expect(byKey.get('data/multipart.bin').checksum).not.toMatch(/^md5:/);
    expect(byKey.get('data/plain.txt').checksum).toMatch(/^(md5|crc32|crc64)/);
  });

  it('a second run skips everything the first verified', async () => {
    const target = await newTarget();
    const req = { ...request({ prefix: 'data/many/' }), name: 'vgw-resume' };
    const first = await runJob({
      request: req,
      target,
      credentials: credentials(),
    });
    expect(first.termination).toMatchObject({
      phase: 'Succeeded',
      objects: 12,
    });
    const second = await runJob({
      request: req,
      target,
      credentials: credentials(),
    });
    expect(second.termination).toMatchObject({
      phase: 'Succeeded',
      objects: 0,
      objectsSkipped: 12,
      bytes: 0,
    });
  });

  it('applies include/exclude globs and stripPrefix', async () => {
    const target = await newTarget();
    const run = await runJob({
      request: request({
        prefix: 'data/',
        include: ['many/**', 'deep/**'],
        exclude: ['many/01*'],
        stripPrefix: 'many/',
      }),
      target,
      credentials: credentials(),
    });
    expect(run.termination?.phase).toBe('Succeeded');
    expect([...(await readTree(target)).keys()].sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `${String(i).padStart(3, '0')}.dat`),
    );
  });

  it('restores one key as a file named after it', async () => {
    const target = await newTarget();
    const run = await runJob({
      request: request({ key: 'data/multipart.bin' }),
      target,
      credentials: credentials(),
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 1 });
    expect(
      (await readTree(target))
        .get('multipart.bin')!
        .equals(objects.get('data/multipart.bin')!),
    ).toBe(true);
  });
});

describe('archives', () => {
  it.each([
    ['a .tar.gz', 'archives/backup.tar.gz'],
    ['a tar recognised by its magic bytes', 'archives/backup-no-extension'],
  ])('extracts %s while it streams', async (_what, key) => {
    const target = await newTarget();
    const run = await runJob({
      request: request({ key, format: 'auto' }),
      target,
      credentials: credentials(),
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 2 });
    const tree = await readTree(target);
    expect(tree.get('README')!.toString()).toBe('restored from a tar\n');
    expect(tree.get('db/table.dat')!.equals(body(9, 300_000))).toBe(true);
    expect(
      (await manifestOf(target)).filter(l => l.type === 'archive'),
    ).toEqual([expect.objectContaining({ key, verified: true })]);
  });

  it('a .tar.zst is INVALID_ARCHIVE on Node 20 (no zstd in its zlib), saying which Node can', async () => {
    expect(process.versions.node.split('.')[0]).toBe('20');
    const target = await newTarget();
    const run = await runJob({
      request: request({ key: 'archives/backup.tar.zst' }),
      target,
      credentials: credentials(),
    });
    expect(run.termination).toMatchObject({
      phase: 'Failed',
      code: 'INVALID_ARCHIVE',
      entry: 'archives/backup.tar.zst',
      message: `"archives/backup.tar.zst" is zstd-compressed; this Node runtime (${process.version}) cannot decompress zstd (Node >= 22.15 can)`,
    });
    expect(run.code).toBe(EXIT_CODE_FATAL);
    expect((await readTree(target)).size).toBe(0);
  });
});

describe('errors fail fast with their codes', () => {
  it.each([
    [
      'a missing bucket',
      { bucket: 'no-such-bucket', prefix: '' },
      'NO_SUCH_BUCKET',
    ],
    ['a missing key', { key: 'data/nope.bin' }, 'NO_SUCH_KEY'],
    ['an empty prefix', { prefix: 'nothing-here/' }, 'NO_OBJECTS'],
  ])('%s', async (_, source, code) => {
    const target = await newTarget();
    const run = await runJob({
      request: request(source),
      target,
      credentials: credentials(),
    });
    expect(run.termination).toMatchObject({ phase: 'Failed', code });
    expect(run.code).toBe(EXIT_CODE_FATAL);
  });

  it('wrong credentials are INVALID_CREDENTIALS, and neither value is printed', async () => {
    const target = await newTarget();
    const run = await runJob({
      request: request({ prefix: 'data/' }),
      target,
      credentials: {
        accessKeyId: server.accessKeyId,
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
});

it('versitygw keeps objects as plain files under its directory (the ETag of a single PUT is its MD5)', async () => {
  const head = await client.send(
    new HeadObjectCommand({ Bucket: 'src', Key: 'data/plain.txt' }),
  );
  expect(head.ETag).toBe(
    `"${createHash('md5').update('plain\n').digest('hex')}"`,
  );
  expect(
    await fsp.readFile(
      path.join(server.dataDir, 'src', 'data', 'plain.txt'),
      'utf8',
    ),
  ).toBe('plain\n');
});
