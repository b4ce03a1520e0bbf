/**
 * restore-job against versitygw (a second S3 implementation, over a POSIX directory), through the
 * bundle: the S3 conformance suite MinIO runs too (__testUtils__/conformance.ts), and what versitygw
 * does differently from MinIO, pinned here and listed in job-image/README.md.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { EXIT_CODE_FATAL } from '@kube-restore/common';
import { describeS3Conformance } from './__testUtils__/conformance';
import { md5, pack } from './__testUtils__/harness';
import { readTree } from './__testUtils__/job';

jest.setTimeout(120_000);

const { h } = describeS3Conformance('versitygw', 'vgw');

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

beforeAll(async () => {
  await h.server.put(
    'src',
    'archives/backup.tar.zst',
    zstdStored(await pack([{ name: 'README', body: 'zstd\n' }])),
  );
});

it('a .tar.zst is INVALID_ARCHIVE on Node 20 (no zstd in its zlib), saying which Node can', async () => {
  expect(process.versions.node.split('.')[0]).toBe('20');
  const target = await h.newTarget();
  const run = await h.run({
    request: h.request({ key: 'archives/backup.tar.zst' }),
    target,
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

it('versitygw keeps objects as plain files under its directory (the ETag of a single PUT is its MD5)', async () => {
  const head = await h.server.client.send(
    new HeadObjectCommand({ Bucket: 'src', Key: 'data/plain.txt' }),
  );
  expect(head.ETag).toBe(`"${md5(Buffer.from('plain\n'))}"`);
  expect(
    await fsp.readFile(
      path.join(h.server.dataDir, 'src', 'data', 'plain.txt'),
      'utf8',
    ),
  ).toBe('plain\n');
});
