/* eslint-disable jest/no-export -- a shared suite that test files call, not a test file itself */
/**
 * What must hold on every S3 server, written once and run against each (restore.minio.test.ts,
 * restore.versitygw.test.ts): objects under a prefix with awkward keys, one key, globs and
 * stripPrefix, verification and the manifest, a resumed run, conflict policies, tar archives, and the
 * fatal error codes (wrong credentials never printed). Bucket `src` holds the same objects on each.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { EXIT_CODE_FATAL, MANIFEST_FILE } from '@kube-restore/common';
import {
  body,
  expectTreeEquals,
  Harness,
  manifestOf,
  pack,
  useHarness,
} from './harness';
import { readTree, temporaries } from './job';
import { S3Kind } from './s3';

export interface Conformance {
  h: Harness;
  /** Objects of bucket `src` under `data/`, as the restore must reproduce them. */
  objects: Map<string, Buffer>;
}

/** The files of the tar fixtures (archives/backup*): a directory, a file, a symlink, a file. */
export const ARCHIVE_ENTRIES = [
  { name: 'db/', type: 'directory' as const },
  { name: 'db/table.dat', body: body(9, 300_000) },
  { name: 'db/link', type: 'symlink' as const, linkname: 'table.dat' },
  { name: 'README', body: 'restored from a tar\n' },
];

async function seed(h: Harness, objects: Map<string, Buffer>) {
  const { server } = h;
  const put = async (key: string, b: Buffer, extra = {}) => {
    await server.put('src', key, b, extra);
    objects.set(key, b);
  };
  await put('data/plain.txt', Buffer.from('plain\n'));
  await put('data/ünïcødé/ファイル.txt', Buffer.from('unicode'));
  await put('data/with space/and%percent+plus.txt', Buffer.from('spaces'));
  await put('data/empty.bin', Buffer.alloc(0));
  await put(
    `data/long/${'d'.repeat(200)}/${'f'.repeat(250)}`,
    Buffer.from('long'),
  );
  await put('data/deep/a/b/c/d/e/f.txt', Buffer.from('deep'));
  await put('data/bin/one-mib.bin', body(1, 1024 * 1024 + 17));
  for (let i = 0; i < 40; i++)
    await put(
      `data/many/${String(i).padStart(3, '0')}.dat`,
      body(i, 1000 + i * 37),
    );
  // Folder marker: restored as a directory, not a file.
  await server.put('src', 'data/folder/', '');
  // Additional checksums.
  await put('data/sums/crc32c.bin', body(5, 70_000), {
    ChecksumAlgorithm: 'CRC32C',
  });
  await put('data/sums/sha256.bin', body(6, 70_000), {
    ChecksumAlgorithm: 'SHA256',
  });
  // A multipart object: its ETag is not an MD5.
  const key = 'data/multipart.bin';
  const mp = await server.client.send(
    new CreateMultipartUploadCommand({ Bucket: 'src', Key: key }),
  );
  const parts = [body(7, 5 * 1024 * 1024), body(8, 1234)];
  const etags: string[] = [];
  for (const [i, part] of parts.entries()) {
    const r = await server.client.send(
      new UploadPartCommand({
        Bucket: 'src',
        Key: key,
        UploadId: mp.UploadId,
        PartNumber: i + 1,
        Body: part,
      }),
    );
    etags.push(r.ETag!);
  }
  await server.client.send(
    new CompleteMultipartUploadCommand({
      Bucket: 'src',
      Key: key,
      UploadId: mp.UploadId,
      MultipartUpload: {
        Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })),
      },
    }),
  );
  objects.set(key, Buffer.concat(parts));

  // Archives.
  const plainTar = await pack(ARCHIVE_ENTRIES);
  await server.put('src', 'archives/backup.tar.gz', zlib.gzipSync(plainTar));
  // A real zstd stream, by Node's zlib (Node >= 22.15; @types/node 20 does not declare it).
  const { zstdCompressSync } = zlib as unknown as {
    zstdCompressSync(data: Buffer): Buffer;
  };
  await server.put(
    'src',
    'archives/backup.tar.zst',
    zstdCompressSync(plainTar),
  );
  await server.put('src', 'archives/backup-no-extension', plainTar);
  await server.put(
    'src',
    'archives/evil.tar',
    await pack([{ name: '../../escaped', body: 'x' }]),
  );
  await server.put(
    'src',
    'archives/truncated.tar.gz',
    zlib.gzipSync(plainTar).subarray(0, 2000),
  );
  await server.put(
    'src',
    'archives/notes.txt',
    'just a text file, not an archive, of more than a few bytes '.repeat(20),
  );
}

/**
 * Starts a `kind` server for the calling file (set-up at its top level, so its own tests share the
 * server and bucket `src`) and declares the conformance tests. Requests go straight to the server;
 * tests that need the proxy name `h.proxy.endpoint`.
 */
export function describeS3Conformance(kind: S3Kind, name: string): Conformance {
  const objects = new Map<string, Buffer>();
  const h = useHarness({
    kind,
    bucket: 'src',
    name,
    seed: harness => seed(harness, objects),
  });
  const under = (prefix: string) =>
    new Map(
      [...objects]
        .filter(([k]) => k.startsWith(prefix))
        .map(([k, v]) => [k.slice(prefix.length), v]),
    );

  describe(`S3 conformance (${kind})`, () => {
    describe('objects under a prefix', () => {
      it('restores every object byte for byte, awkward keys included, verifies each, reports it and writes the manifest', async () => {
        const target = await h.newTarget();
        const run = await h.run({
          request: h.request({ prefix: 'data/' }),
          target,
        });
        expect(run.stderr).toBe('');
        expect(run.termination).toMatchObject({
          phase: 'Succeeded',
          objects: objects.size,
          objectsSkipped: 0,
          manifest: MANIFEST_FILE,
        });
        expect(run.code).toBe(0);
        expectTreeEquals(await readTree(target), under('data/'));
        expect(
          (await fsp.stat(path.join(target, 'folder'))).isDirectory(),
        ).toBe(true);
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
        const byKey = new Map(
          (await manifestOf(target))
            .filter(l => l.type === 'object')
            .map(l => [l.key, l]),
        );
        expect(byKey.size).toBe(objects.size);
        expect([...byKey.values()].every(l => l.verified === true)).toBe(true);
        expect(byKey.get('data/sums/crc32c.bin')!.checksum).toMatch(/^crc32c:/);
        expect(byKey.get('data/sums/sha256.bin')!.checksum).toMatch(/^sha256:/);
        // MinIO: the multipart ETag, the MD5 of the two parts' MD5s, checked with the part layout;
        // versitygw (like AWS S3) gives the upload a full-object CRC64NVME
        expect(byKey.get('data/multipart.bin')!.checksum).toMatch(
          kind === 'versitygw' ? /^crc64nvme:/ : /^md5:[0-9a-f]{32}-2$/,
        );
        expect(byKey.get('data/plain.txt')!.checksum).toMatch(
          /^(md5|crc32|crc64)/,
        );
      });

      it('a second run skips everything the first verified, without a GET', async () => {
        const target = await h.newTarget();
        const request = {
          ...h.request({ prefix: 'data/', endpoint: h.proxy.endpoint }),
          name: 'resume-me',
        };
        const first = await h.run({ request, target });
        expect(first.termination).toMatchObject({
          phase: 'Succeeded',
          objects: objects.size,
        });
        h.proxy.log.length = 0;
        const second = await h.run({ request, target });
        expect(second.termination).toMatchObject({
          phase: 'Succeeded',
          objects: 0,
          objectsSkipped: objects.size,
          bytes: 0,
        });
        expect(h.proxy.log.some(r => r.method === 'GET')).toBe(true);
        expect(
          h.proxy.log.filter(r => r.method === 'GET' && r.key !== undefined),
        ).toEqual([]);
      });

      it('applies include/exclude globs and stripPrefix', async () => {
        const target = await h.newTarget();
        const run = await h.run({
          request: h.request({
            prefix: 'data/',
            include: ['many/**', 'deep/**'],
            exclude: ['many/0[1-3]*'],
            stripPrefix: 'many/',
          }),
          target,
        });
        expect(run.termination?.phase).toBe('Succeeded');
        // 010-039 excluded; deep/ is not under stripPrefix many/: not restored.
        expect([...(await readTree(target)).keys()].sort()).toEqual(
          Array.from(
            { length: 10 },
            (_, i) => `${String(i).padStart(3, '0')}.dat`,
          ),
        );
      });

      it.each([
        ['a plain object', 'data/bin/one-mib.bin'],
        ['a multipart object', 'data/multipart.bin'],
      ])('restores one key (%s) as a file named after it', async (_, key) => {
        const target = await h.newTarget();
        const run = await h.run({ request: h.request({ key }), target });
        expect(run.termination).toMatchObject({
          phase: 'Succeeded',
          objects: 1,
        });
        expect([...(await readTree(target)).keys()]).toEqual([
          path.basename(key),
        ]);
        expect(
          (await readTree(target))
            .get(path.basename(key))!
            .equals(objects.get(key)!),
        ).toBe(true);
      });
    });

    describe('conflict policies on an existing volume', () => {
      it('fail: a volume with files in it is TARGET_NOT_EMPTY (lost+found does not count)', async () => {
        const target = await h.newTarget();
        await fsp.mkdir(path.join(target, 'lost+found'));
        await fsp.writeFile(path.join(target, 'precious.txt'), 'keep me');
        const run = await h.run({
          request: h.request({ prefix: 'data/many/' }),
          target,
        });
        expect(run.code).toBe(EXIT_CODE_FATAL);
        expect(run.termination).toMatchObject({
          code: 'TARGET_NOT_EMPTY',
          entry: 'precious.txt',
        });
        expect((await fsp.readdir(target)).sort()).toEqual([
          'lost+found',
          'precious.txt',
        ]);
      });

      it('skip-existing keeps what is there; overwrite replaces it', async () => {
        const target = await h.newTarget();
        await fsp.writeFile(path.join(target, '000.dat'), 'local edit');
        const existing = (conflict: 'skip-existing' | 'overwrite') =>
          h.request(
            { prefix: 'data/many/' },
            {
              target: {
                namespace: 'team-a',
                pvc: 'data',
                mode: 'existing',
                conflict,
              },
            },
          );
        const skip = await h.run({
          request: existing('skip-existing'),
          target,
        });
        expect(skip.termination).toMatchObject({
          phase: 'Succeeded',
          objects: 39,
          objectsSkipped: 1,
        });
        expect(await fsp.readFile(path.join(target, '000.dat'), 'utf8')).toBe(
          'local edit',
        );
        const over = await h.run({
          request: { ...existing('overwrite'), name: 'over' },
          target,
        });
        expect(over.termination).toMatchObject({
          phase: 'Succeeded',
          objects: 40,
        });
        expect(
          (await fsp.readFile(path.join(target, '000.dat'))).equals(
            objects.get('data/many/000.dat')!,
          ),
        ).toBe(true);
      });
    });

    describe('archives', () => {
      it.each([
        ['a .tar.gz', 'archives/backup.tar.gz', undefined],
        ['a .tar.zst', 'archives/backup.tar.zst', undefined],
        [
          'a tar recognised by its magic bytes',
          'archives/backup-no-extension',
          'auto',
        ],
      ])('extracts %s while it streams', async (_what, key, format) => {
        const target = await h.newTarget();
        const run = await h.run({
          request: h.request(format ? { key, format } : { key }),
          target,
        });
        expect(run.termination).toMatchObject({
          phase: 'Succeeded',
          objects: 2,
        });
        const tree = await readTree(target);
        expect(tree.get('README')!.toString()).toBe('restored from a tar\n');
        expect(tree.get('db/table.dat')!.equals(body(9, 300_000))).toBe(true);
        expect(await fsp.readlink(path.join(target, 'db/link'))).toBe(
          'table.dat',
        );
        expect(
          (await manifestOf(target)).filter(l => l.type === 'archive'),
        ).toEqual([expect.objectContaining({ key, verified: true })]);
      });

      it('restores a non-archive key with format auto as a plain file', async () => {
        const target = await h.newTarget();
        const run = await h.run({
          request: h.request({ key: 'archives/notes.txt', format: 'auto' }),
          target,
        });
        expect(run.termination?.phase).toBe('Succeeded');
        expect([...(await readTree(target)).keys()]).toEqual(['notes.txt']);
      });

      it('refuses an archive entry that escapes, naming it', async () => {
        const target = await h.newTarget();
        const run = await h.run({
          request: h.request({ key: 'archives/evil.tar' }),
          target,
        });
        expect(run.code).toBe(EXIT_CODE_FATAL);
        expect(run.termination).toMatchObject({
          code: 'UNSAFE_PATH',
          entry: '../../escaped',
        });
        expect(await fsp.readdir(h.base)).not.toContain('escaped');
      });

      it('a truncated archive is INVALID_ARCHIVE', async () => {
        const target = await h.newTarget();
        const run = await h.run({
          request: h.request({ key: 'archives/truncated.tar.gz' }),
          target,
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
        ],
        ['a missing key', { key: 'data/nope.bin' }, 'NO_SUCH_KEY'],
        ['an empty prefix', { prefix: 'nothing-here/' }, 'NO_OBJECTS'],
      ])('%s', async (_, source, code) => {
        const target = await h.newTarget();
        const run = await h.run({ request: h.request(source), target });
        expect(run.termination).toMatchObject({ phase: 'Failed', code });
        expect(run.code).toBe(EXIT_CODE_FATAL);
      });

      it('wrong credentials are INVALID_CREDENTIALS, and neither value is printed', async () => {
        const target = await h.newTarget();
        const run = await h.run({
          request: h.request({ prefix: 'data/' }),
          target,
          credentials: {
            accessKeyId: h.server.accessKey,
            secretAccessKey: 'wrong-secret-value-123',
          },
        });
        expect(run.termination).toMatchObject({
          phase: 'Failed',
          code: 'INVALID_CREDENTIALS',
        });
        expect(run.code).toBe(EXIT_CODE_FATAL);
        expect(run.stdout + run.stderr + run.terminationRaw).not.toContain(
          'wrong-secret-value-123',
        );
      });
    });
  });
  return { h, objects };
}
