/**
 * The S3 servers the job's integration tests run against, behind one interface: MinIO (this package's
 * own launcher, minio.ts) and versitygw (test/cluster's startS3Server). Both fail, naming what to run,
 * when their binary is missing: never skip.
 */
import { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { startS3Server } from '@kube-restore/test-cluster';
import { bucketWriter, MinioServer, startMinio } from './minio';

export type S3Kind = 'minio' | 'versitygw';

/** What a test needs of a server: where it is, its root credentials, and a client to seed it. */
export type TestS3 = MinioServer & { kind: S3Kind };

export async function startTestS3(kind: S3Kind): Promise<TestS3> {
  if (kind === 'minio') return { kind, ...(await startMinio()) };
  const server = await startS3Server({ kind });
  const config: S3ClientConfig = {
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: {
      accessKeyId: server.accessKeyId,
      secretAccessKey: server.secretAccessKey,
    },
  };
  const client = new S3Client(config);
  return {
    kind,
    endpoint: server.endpoint,
    port: Number(new URL(server.endpoint).port),
    accessKey: server.accessKeyId,
    secretKey: server.secretAccessKey,
    client,
    dataDir: server.dataDir,
    ...bucketWriter(client, config),
    async stop() {
      client.destroy();
      await server.stop();
    },
  };
}
