/*
 * The standalone S3 servers: MinIO and versitygw serve S3 with the credentials they report, and
 * stop leaves no process.
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import * as fs from 'node:fs';
import { isAlive, markedPids } from './processes';
import { S3ServerKind, startS3Server } from './s3';

jest.setTimeout(120_000);

describe.each<S3ServerKind>(['minio', 'versitygw'])('%s', kind => {
  it('serves S3 with the reported credentials and stops by PID', async () => {
    const server = await startS3Server({ kind });
    let stopped = false;
    try {
      const s3 = new S3Client({
        endpoint: server.endpoint,
        region: server.region,
        forcePathStyle: true,
        credentials: {
          accessKeyId: server.accessKeyId,
          secretAccessKey: server.secretAccessKey,
        },
      });
      await s3.send(new CreateBucketCommand({ Bucket: 'bucket-1' }));
      for (const key of ['a/1.txt', 'a/b/2.txt', 'top.txt'])
        await s3.send(
          new PutObjectCommand({
            Bucket: 'bucket-1',
            Key: key,
            Body: `body of ${key}`,
          }),
        );
      const list = await s3.send(
        new ListObjectsV2Command({ Bucket: 'bucket-1', Prefix: 'a/' }),
      );
      expect((list.Contents ?? []).map(o => o.Key).sort()).toEqual([
        'a/1.txt',
        'a/b/2.txt',
      ]);
      const got = await s3.send(
        new GetObjectCommand({ Bucket: 'bucket-1', Key: 'a/b/2.txt' }),
      );
      expect(await got.Body!.transformToString()).toBe('body of a/b/2.txt');
      const wrong = new S3Client({
        endpoint: server.endpoint,
        region: server.region,
        forcePathStyle: true,
        credentials: {
          accessKeyId: server.accessKeyId,
          secretAccessKey: 'wrong',
        },
      });
      const err = await wrong
        .send(new ListObjectsV2Command({ Bucket: 'bucket-1' }))
        .catch(e => e);
      expect(err.name).toBe('SignatureDoesNotMatch');
      s3.destroy();
      wrong.destroy();
      expect(server.env()).toMatchObject({
        KUBE_RESTORE_S3_ENDPOINT: server.endpoint,
        AWS_REGION: 'us-east-1',
      });
      const dataDir = server.dataDir;
      await server.stop();
      stopped = true;
      expect(isAlive(server.pid)).toBe(false);
      expect(fs.existsSync(dataDir)).toBe(false);
    } finally {
      if (!stopped) await server.stop();
    }
  });
});

it('finds no leftover marked process of these runs', () => {
  // markedPids of a random run id is empty: a sanity check of the scan itself
  expect(markedPids('no-such-run')).toEqual([]);
});
