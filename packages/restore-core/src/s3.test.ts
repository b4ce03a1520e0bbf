/**
 * sizeSource, backupExists and translateS3Error with a fake S3 client that answers ListObjectsV2 and
 * HeadObject from a table (pure logic: paging, filters, rounding, decisions, messages). The same
 * calls against MinIO: test/e2e core.test.ts (sizeSource, backupExists).
 */
import {
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { parseRestoreRequest, RestoreSource } from '@kube-restore/common';
import {
  backupExists,
  backupLocation,
  sizeSource,
  translateS3Error,
} from './s3';

interface FakeObject {
  key: string;
  size: number;
  storageClass?: string;
  archiveStatus?: string;
  etag?: string;
  /** ListObjectsV2's ChecksumAlgorithm and ChecksumType. */
  checksum?: { algorithm: string; type: 'FULL_OBJECT' | 'COMPOSITE' };
  /** HeadObject's checksum fields (with ChecksumMode ENABLED). */
  headChecksums?: Record<string, string>;
}

const s3Error = (name: string, status?: number) =>
  Object.assign(new Error(name), {
    name,
    ...(status ? { $metadata: { httpStatusCode: status } } : {}),
  });

/** Lists `objects` in pages of MaxKeys like S3 (sorted keys, continuation tokens); HEADs them. */
function fakeS3(objects: FakeObject[], failure?: unknown) {
  const sent: Array<{ command: string; input: any }> = [];
  let destroyed = false;
  const client = {
    async send(command: ListObjectsV2Command | HeadObjectCommand) {
      const input = command.input as any;
      sent.push({ command: command.constructor.name, input });
      if (failure) throw failure;
      if (command instanceof HeadObjectCommand) {
        const o = objects.find(x => x.key === input.Key);
        if (!o) throw s3Error('NotFound', 404);
        return {
          ContentLength: o.size,
          StorageClass: o.storageClass,
          ArchiveStatus: o.archiveStatus,
          ETag: o.etag,
          ...(input.ChecksumMode === 'ENABLED' ? o.headChecksums : {}),
        };
      }
      const matching = objects
        .filter(o => o.key.startsWith(input.Prefix ?? ''))
        .sort((a, b) => a.key.localeCompare(b.key));
      const start = input.ContinuationToken
        ? Number(input.ContinuationToken)
        : 0;
      const page = matching.slice(start, start + (input.MaxKeys ?? 1000));
      const next = start + page.length;
      return {
        Contents: page.map(o => ({
          Key: o.key,
          Size: o.size,
          StorageClass: o.storageClass,
          ETag: o.etag,
          ChecksumAlgorithm: o.checksum ? [o.checksum.algorithm] : undefined,
          ChecksumType: o.checksum?.type,
        })),
        KeyCount: page.length,
        IsTruncated: next < matching.length,
        NextContinuationToken:
          next < matching.length ? String(next) : undefined,
      };
    },
    destroy() {
      destroyed = true;
    },
  };
  return {
    client: client as unknown as S3Client,
    sent,
    destroyed: () => destroyed,
  };
}

const source = (extra: Record<string, unknown> = {}): RestoreSource =>
  parseRestoreRequest({
    source: { bucket: 'datasets', prefix: 'team-a/', ...extra },
    target: { namespace: 'team-a', pvc: 'data', size: '1Gi' },
  }).source;

const GiB = 2 ** 30;
const disk = (size: number) => Math.ceil(size / 4096) * 4096 + 256;

describe('sizeSource', () => {
  it('sums every page of the listing, skipping folder markers, and does not destroy a lent client', async () => {
    const objects = [
      { key: 'team-a/', size: 0 },
      { key: 'team-a/a.bin', size: 1 },
      { key: 'team-a/dir/', size: 0 },
      { key: 'team-a/dir/b.bin', size: 4097 },
      { key: 'team-a/dir/c.bin', size: 3 * GiB },
      { key: 'team-b/other.bin', size: 5 },
    ];
    const s3 = fakeS3(objects);
    const size = await sizeSource(source(), { client: s3.client, pageSize: 2 });
    expect(size).toMatchObject({
      objects: 3,
      bytes: 1 + 4097 + 3 * GiB,
      diskBytes: disk(1) + disk(4097) + disk(3 * GiB),
      largestObjectBytes: 3 * GiB,
      archivedObjects: 0,
      estimated: false,
      // 3 GiB and a little, plus 10%: 4Gi
      recommendedSize: '4Gi',
    });
    expect(s3.sent.map(s => s.input.ContinuationToken)).toEqual([
      undefined,
      '2',
      '4',
    ]);
    expect(s3.sent.every(s => s.input.MaxKeys === 2)).toBe(true);
    expect(s3.destroyed()).toBe(false);
  });

  it('applies include and exclude to the keys below the prefix', async () => {
    const s3 = fakeS3([
      { key: 'team-a/keep/a.txt', size: 10 },
      { key: 'team-a/keep/b.log', size: 20 },
      { key: 'team-a/other/c.txt', size: 40 },
    ]);
    const size = await sizeSource(
      source({ include: ['keep/**'], exclude: ['**/*.log'] }),
      { client: s3.client },
    );
    expect(size).toMatchObject({ objects: 1, bytes: 10 });
  });

  it('counts archived objects per storage class and prices their thaw', async () => {
    const s3 = fakeS3([
      { key: 'team-a/a', size: GiB, storageClass: 'GLACIER' },
      { key: 'team-a/b', size: 2 * GiB, storageClass: 'DEEP_ARCHIVE' },
      { key: 'team-a/c', size: 5, storageClass: 'STANDARD' },
    ]);
    const size = await sizeSource(source(), { client: s3.client });
    expect(size.archived).toEqual({
      GLACIER: { objects: 1, bytes: GiB },
      DEEP_ARCHIVE: { objects: 1, bytes: 2 * GiB },
    });
    expect(size.archivedObjects).toBe(2);
    expect(size.archivedBytes).toBe(3 * GiB);
    expect(size.thawCost.map(t => t.tier)).toEqual([
      'Expedited',
      'Standard',
      'Bulk',
    ]);
  });

  it('sizes one compressed archive by HEAD, estimating what it unpacks to', async () => {
    const s3 = fakeS3([{ key: 'db/2026.tar.gz', size: GiB }]);
    const size = await sizeSource(
      parseRestoreRequest({
        source: { bucket: 'backups', key: 'db/2026.tar.gz' },
        target: { namespace: 'team-a', pvc: 'db', size: '1Gi' },
      }).source,
      { client: s3.client, compressionRatio: 4, overagePercent: 0 },
    );
    expect(s3.sent).toEqual([
      {
        command: 'HeadObjectCommand',
        input: {
          Bucket: 'backups',
          Key: 'db/2026.tar.gz',
          ChecksumMode: 'ENABLED',
        },
      },
    ]);
    expect(size).toMatchObject({
      objects: 1,
      bytes: GiB,
      diskBytes: 4 * GiB,
      estimated: true,
      recommendedSize: '4Gi',
    });
  });

  it('says how the job will verify each object: its checksum, its ETag, or its size only', async () => {
    const md5 = '0123456789abcdef0123456789abcdef';
    const s3 = fakeS3([
      { key: 'team-a/a', size: 1, etag: `"${md5}"` },
      { key: 'team-a/b', size: 1, etag: `"${md5}-3"` },
      {
        key: 'team-a/c',
        size: 1,
        etag: `"${md5}-3"`,
        checksum: { algorithm: 'CRC64NVME', type: 'FULL_OBJECT' },
      },
      {
        key: 'team-a/d',
        size: 1,
        etag: `"${md5}-2"`,
        checksum: { algorithm: 'CRC32C', type: 'COMPOSITE' },
      },
      { key: 'team-a/e', size: 1, etag: '"not-an-md5"' },
      {
        key: 'team-a/f',
        size: 1,
        etag: `"${md5}"`,
        checksum: { algorithm: 'CRC64NVME', type: 'FULL_OBJECT' },
      },
    ]);
    const size = await sizeSource(source(), { client: s3.client });
    expect(size.verification).toEqual({
      MD5: 1,
      'MD5 (multipart ETag)': 1,
      CRC64NVME: 2,
      'CRC32C (composite)': 1,
      'size only': 1,
    });
    // one key: HeadObject with ChecksumMode, a composite value ends in -N
    const one = fakeS3([
      {
        key: 'k.bin',
        size: 9,
        etag: `"${md5}-2"`,
        headChecksums: { ChecksumSHA256: 'abc=-2' },
      },
    ]);
    expect(
      (
        await sizeSource(source({ prefix: undefined, key: 'k.bin' }), {
          client: one.client,
        })
      ).verification,
    ).toEqual({ 'SHA256 (composite)': 1 });
  });

  it('counts an Intelligent-Tiering object in an archive tier as archived', async () => {
    const s3 = fakeS3([
      { key: 'k.bin', size: 7, archiveStatus: 'DEEP_ARCHIVE_ACCESS' },
    ]);
    const size = await sizeSource(source({ prefix: undefined, key: 'k.bin' }), {
      client: s3.client,
    });
    expect(size.archived).toEqual({
      INTELLIGENT_TIERING: { objects: 1, bytes: 7 },
    });
    expect(size.estimated).toBe(false);
  });

  it('turns an S3 error into a RestoreError naming the bucket', async () => {
    const s3 = fakeS3([], s3Error('NoSuchBucket', 404));
    await expect(
      sizeSource(source(), { client: s3.client }),
    ).rejects.toMatchObject({
      kind: 'NotFound',
      message: 'bucket "datasets" does not exist',
    });
  });
});

describe('translateS3Error', () => {
  it.each([
    [s3Error('NoSuchKey', 404), 'NotFound', 's3://b/k.tar does not exist'],
    [s3Error('NotFound', 404), 'NotFound', 's3://b/k.tar does not exist'],
    [
      s3Error('AccessDenied', 403),
      'Forbidden',
      'the credentials may not read s3://b/k.tar (AccessDenied)',
    ],
    // S3 sends both with 403: the keys are wrong, not short of rights
    [
      s3Error('SignatureDoesNotMatch', 403),
      'Unauthorized',
      'the S3 server rejected the credentials (SignatureDoesNotMatch)',
    ],
    [
      s3Error('InvalidAccessKeyId', 403),
      'Unauthorized',
      'the S3 server rejected the credentials (InvalidAccessKeyId)',
    ],
    [
      Object.assign(new Error('connect ECONNREFUSED'), {
        code: 'ECONNREFUSED',
      }),
      'Unavailable',
      'cannot reach the S3 server for s3://b/k.tar (ECONNREFUSED)',
    ],
    [
      s3Error('InternalError', 500),
      'Failed',
      'reading s3://b/k.tar failed: InternalError',
    ],
  ])('%s -> %s', (error, kind, message) => {
    const translated = translateS3Error(error, { bucket: 'b' }, 'k.tar');
    expect(translated).toMatchObject({ kind, message });
    expect(translated.cause).toBe(error);
  });

  it('names the bucket when there is no key', () => {
    expect(
      translateS3Error(s3Error('AccessDenied', 403), { bucket: 'b' }).message,
    ).toBe('the credentials may not read bucket "b" (AccessDenied)');
  });
});

describe('backupExists', () => {
  const layout = (template: string) => ({
    source: { bucket: 'backups', region: 'us-east-1' },
    template,
  });

  it('fills ${namespace} and ${pvc} into the template', () => {
    expect(
      backupLocation(layout('${namespace}/${pvc}/${pvc}.tar'), 'team-a', 'db'),
    ).toBe('team-a/db/db.tar');
  });

  it('a prefix: restore when one object is under it, fresh when none (one key listed)', async () => {
    const s3 = fakeS3([{ key: 'team-a/db/x', size: 1 }]);
    expect(
      await backupExists('team-a', 'db', layout('${namespace}/${pvc}/'), {
        client: s3.client,
      }),
    ).toEqual({ decision: 'restore', location: 's3://backups/team-a/db/' });
    expect(s3.sent[0].input).toMatchObject({
      Prefix: 'team-a/db/',
      MaxKeys: 1,
    });
    expect(
      await backupExists('team-a', 'web', layout('${namespace}/${pvc}/'), {
        client: s3.client,
      }),
    ).toEqual({ decision: 'fresh', location: 's3://backups/team-a/web/' });
  });

  it('a key: restore when HEAD finds it, fresh on 404', async () => {
    const s3 = fakeS3([{ key: 'team-a/db.tar.gz', size: 1 }]);
    const l = layout('${namespace}/${pvc}.tar.gz');
    expect(
      await backupExists('team-a', 'db', l, { client: s3.client }),
    ).toEqual({
      decision: 'restore',
      location: 's3://backups/team-a/db.tar.gz',
    });
    expect(
      await backupExists('team-a', 'web', l, { client: s3.client }),
    ).toEqual({
      decision: 'fresh',
      location: 's3://backups/team-a/web.tar.gz',
    });
  });

  it.each([
    [s3Error('NoSuchBucket', 404), 'bucket "backups" does not exist'],
    [
      s3Error('AccessDenied', 403),
      'the credentials may not read s3://backups/team-a/db/ (AccessDenied)',
    ],
  ])(
    'cannot tell on %s, so an admission policy can fail closed',
    async (error, reason) => {
      const s3 = fakeS3([], error);
      expect(
        await backupExists('team-a', 'db', layout('${namespace}/${pvc}/'), {
          client: s3.client,
        }),
      ).toEqual({
        decision: 'unknown',
        location: 's3://backups/team-a/db/',
        reason,
      });
    },
  );
});
