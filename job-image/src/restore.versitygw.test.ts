/**
 * restore-job against versitygw (a second S3 implementation, over a POSIX directory), through the
 * bundle: the S3 conformance suite MinIO runs too (__testUtils__/conformance.ts), and what versitygw
 * does differently from MinIO, pinned here and listed in job-image/README.md.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { describeS3Conformance } from './__testUtils__/conformance';
import { md5 } from './__testUtils__/harness';

jest.setTimeout(120_000);

const { h } = describeS3Conformance('versitygw', 'vgw');

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
