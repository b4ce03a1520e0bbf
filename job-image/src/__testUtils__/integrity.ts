/* eslint-disable jest/no-export -- a shared suite that test files call, not a test file itself */
/**
 * Integrity on objects as today's AWS SDK writes them, run against each S3 server
 * (integrity.minio.test.ts, integrity.versitygw.test.ts): a PutObject with the SDK's default
 * checksum (CRC32), multipart uploads with a full-object CRC64NVME or CRC32, composite CRC32C and
 * SHA-256, and a multipart upload without checksums (its ETag is the MD5 of the parts' MD5s). Each is
 * restored by one stream and by ranged GETs, and each says how it was verified; bytes corrupted on
 * the way (the fault proxy) are CHECKSUM_MISMATCH.
 */
import {
  ChecksumAlgorithm,
  ChecksumType,
  CompleteMultipartUploadCommand,
  CompletedPart,
  CreateMultipartUploadCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Crc32 } from '../checksums';
import { Crc64Nvme } from '../crc64/crc64';
import { getOf } from './faultProxy';
import { body, Harness, manifestOf, md5, useHarness } from './harness';
import { readTree, RequestOptions } from './job';
import { S3Kind } from './s3';

const MiB = 1024 * 1024;

export interface IntegrityObject {
  key: string;
  body: Buffer;
}

/** A multipart upload of `parts` the way the SDK sends it, with `algorithm` and `type` when given. */
async function multipart(
  h: Harness,
  key: string,
  parts: Buffer[],
  checksum?: { algorithm: ChecksumAlgorithm; type: ChecksumType },
): Promise<Buffer> {
  const { client } = h.server;
  const mp = await client.send(
    new CreateMultipartUploadCommand({
      Bucket: 'src',
      Key: key,
      ChecksumAlgorithm: checksum?.algorithm,
      ChecksumType: checksum?.type,
    }),
  );
  const done: CompletedPart[] = [];
  for (const [i, part] of parts.entries()) {
    const r = await client.send(
      new UploadPartCommand({
        Bucket: 'src',
        Key: key,
        UploadId: mp.UploadId,
        PartNumber: i + 1,
        Body: part,
        ChecksumAlgorithm: checksum?.algorithm,
      }),
    );
    // the parts' checksums of the upload's algorithm, as the SDK sends them (versitygw refuses
    // checksums of an upload created without one: InvalidPart)
    done.push({
      ETag: r.ETag,
      PartNumber: i + 1,
      ...(checksum
        ? {
            ChecksumCRC32: r.ChecksumCRC32,
            ChecksumCRC32C: r.ChecksumCRC32C,
            ChecksumSHA256: r.ChecksumSHA256,
            ChecksumCRC64NVME: r.ChecksumCRC64NVME,
          }
        : {}),
    });
  }
  const whole = Buffer.concat(parts);
  // A full-object checksum is given whole at the end (the server checks it against the parts').
  const full: Record<string, string> = {};
  if (checksum?.type === 'FULL_OBJECT') {
    const h64 =
      checksum.algorithm === 'CRC64NVME' ? new Crc64Nvme() : new Crc32();
    h64.update(whole);
    full[
      checksum.algorithm === 'CRC64NVME' ? 'ChecksumCRC64NVME' : 'ChecksumCRC32'
    ] = h64.digest();
  }
  await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: 'src',
      Key: key,
      UploadId: mp.UploadId,
      MultipartUpload: { Parts: done },
      ChecksumType: checksum?.type,
      ...full,
    }),
  );
  return whole;
}

async function seed(h: Harness, objects: IntegrityObject[]): Promise<void> {
  const add = (key: string, b: Buffer) => objects.push({ key, body: b });
  // PutObject with the SDK's default checksum behaviour (it sends a CRC32 of the body).
  const single = body(21, 700_000);
  await h.server.put('src', 'sdk/put-default.bin', single);
  add('sdk/put-default.bin', single);
  const p5 = (n: number) => body(n, 5 * MiB);
  add(
    'sdk/mp-crc64nvme.bin',
    await multipart(h, 'sdk/mp-crc64nvme.bin', [p5(22), body(23, MiB + 3)], {
      algorithm: 'CRC64NVME',
      type: 'FULL_OBJECT',
    }),
  );
  add(
    'sdk/mp-crc32-full.bin',
    await multipart(h, 'sdk/mp-crc32-full.bin', [p5(24), body(25, 777)], {
      algorithm: 'CRC32',
      type: 'FULL_OBJECT',
    }),
  );
  add(
    'sdk/mp-crc32c-composite.bin',
    await multipart(
      h,
      'sdk/mp-crc32c-composite.bin',
      [p5(26), p5(27), body(28, 1234)],
      { algorithm: 'CRC32C', type: 'COMPOSITE' },
    ),
  );
  add(
    'sdk/mp-sha256-composite.bin',
    await multipart(h, 'sdk/mp-sha256-composite.bin', [p5(29), body(30, 99)], {
      algorithm: 'SHA256',
      type: 'COMPOSITE',
    }),
  );
  add(
    'sdk/mp-plain.bin',
    await multipart(h, 'sdk/mp-plain.bin', [p5(31), body(32, 4321)]),
  );
}

/** Ranged GETs of 5 MiB for objects of 1 MiB and more (the defaults only range 32 MiB ones). */
const RANGED: Partial<RequestOptions> = {
  parts: { minObjectSize: '1Mi', size: '5Mi' },
};

export function describeIntegrity(kind: S3Kind, name: string): Harness {
  const objects: IntegrityObject[] = [];
  const h = useHarness({
    kind,
    bucket: 'src',
    name,
    viaProxy: true,
    seed: harness => seed(harness, objects),
  });

  describe(`integrity of objects as the AWS SDK uploads them (${kind})`, () => {
    it.each([
      ['one stream per object', {}],
      ['ranged GETs', RANGED],
    ])(
      'verifies every checksum S3 carries, %s, and says how',
      async (_, options: Partial<RequestOptions>) => {
        const target = await h.newTarget();
        const run = await h.run({
          request: h.request({ prefix: 'sdk/' }),
          target,
          options,
        });
        expect(run.termination).toMatchObject({ phase: 'Succeeded' });
        // the bundle's CRC-64/NVME and CRC-32C are the native addon's on this machine
        expect(run.lines.find(l => l.msg === 'restore starting')).toMatchObject(
          { checksums: 'native' },
        );
        const tree = await readTree(target);
        for (const o of objects)
          expect([o.key, md5(tree.get(o.key.slice(4))!)]).toEqual([
            o.key,
            md5(o.body),
          ]);
        const manifest = await manifestOf(target);
        const how = Object.fromEntries(
          manifest
            .filter(l => l.type === 'object')
            .map(l => [l.key, l.checksum.split(':')[0]]),
        );
        expect(how).toEqual({
          'sdk/put-default.bin': 'crc32',
          'sdk/mp-crc64nvme.bin': 'crc64nvme',
          'sdk/mp-crc32-full.bin': 'crc32',
          'sdk/mp-crc32c-composite.bin': 'crc32c',
          'sdk/mp-sha256-composite.bin': 'sha256',
          // versitygw, like AWS S3 since 2025, gives an upload without a checksum a CRC64NVME
          'sdk/mp-plain.bin': kind === 'versitygw' ? 'crc64nvme' : 'md5',
        });
        const composite = manifest.find(
          l => l.key === 'sdk/mp-crc32c-composite.bin',
        );
        expect(composite?.checksum).toMatch(/^crc32c:[A-Za-z0-9+/]+=*-3$/);
        expect(run.termination!.message).toContain(
          kind === 'versitygw'
            ? '; verified by CRC32: 2, CRC64NVME: 2, CRC32C (composite): 1, SHA256 (composite): 1'
            : '; verified by CRC32: 2, CRC32C (composite): 1, CRC64NVME: 1, MD5 (multipart ETag): 1, SHA256 (composite): 1',
        );
      },
    );

    it('without GetObjectAttributes (501), a composite checksum gets its part layout from a HEAD of each part', async () => {
      const key = 'sdk/mp-crc32c-composite.bin';
      h.proxy.add({
        match: r => r.key === key && r.query.has('attributes'),
        action: { type: 'status', status: 501, code: 'NotImplemented' },
      });
      const target = await h.newTarget();
      const run = await h.run({ request: h.request({ key }), target });
      expect(run.termination).toMatchObject({ phase: 'Succeeded' });
      expect(run.termination!.message).toContain(
        'verified by CRC32C (composite): 1',
      );
      // asked once (501 is not retried), then each part's size
      expect(
        h.proxy.log.filter(l => l.query.includes('attributes')),
      ).toHaveLength(1);
      expect(
        h.proxy.log
          .filter(l => l.method === 'HEAD' && l.query.includes('partNumber'))
          .map(l => new URLSearchParams(l.query).get('partNumber'))
          .sort(),
      ).toEqual(['1', '2', '3']);
    });

    it('with no way to learn the part layout, a composite object is verified by size only, and says so', async () => {
      const key = 'sdk/mp-sha256-composite.bin';
      h.proxy.add({
        match: r =>
          r.key === key &&
          (r.query.has('attributes') || r.query.has('partNumber')),
        action: { type: 'status', status: 501, code: 'NotImplemented' },
      });
      const target = await h.newTarget();
      const run = await h.run({ request: h.request({ key }), target });
      expect(run.termination).toMatchObject({ phase: 'Succeeded' });
      expect(run.termination!.message).toContain('verified by size only: 1');
      expect(
        (await manifestOf(target)).find(l => l.key === key)?.checksum,
      ).toBe('size');
      expect(
        run.lines.find(l => /part layout .* unknown/.test(String(l.msg))),
      ).toBeDefined();
    });

    it.each([
      ['sdk/mp-crc64nvme.bin', {}, MiB + 5],
      ['sdk/mp-crc64nvme.bin', RANGED, MiB + 5],
      ['sdk/mp-crc32-full.bin', RANGED, 3],
      ['sdk/mp-crc32c-composite.bin', {}, 7 * MiB],
      ['sdk/mp-sha256-composite.bin', RANGED, 2 * MiB],
      ['sdk/mp-plain.bin', {}, 5 * MiB + 1],
      ['sdk/put-default.bin', {}, 5],
    ])(
      'a byte corrupted on the way in %s (%j, at byte %d of each GET) is CHECKSUM_MISMATCH, nothing written',
      async (key, options: Partial<RequestOptions>, atByte) => {
        const rule = h.proxy.add({
          match: getOf(key),
          action: { type: 'corrupt', atByte },
        });
        const target = await h.newTarget();
        const run = await h.run({
          request: h.request({ key }),
          target,
          options,
        });
        expect(run.termination).toMatchObject({
          phase: 'Failed',
          code: 'CHECKSUM_MISMATCH',
          entry: key,
        });
        // not fatal: the Job's next pod tries again
        expect(run.code).toBe(1);
        // fetched again once after the first mismatch
        expect(rule.hits).toBeGreaterThanOrEqual(2);
        expect((await readTree(target)).size).toBe(0);
      },
    );
  });
  return h;
}
