/**
 * A real MinIO for integration tests: the binary that test/cluster/scripts/build-servers.sh built into
 * ${KUBE_RESTORE_CACHE:-~/.cache/kube-restore}, on a free loopback port with a fresh data directory
 * and random root credentials. Fails, naming what to run, when the binary is missing: never skips.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  promises as fsp,
  readdirSync,
  readFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  S3ClientConfig,
} from '@aws-sdk/client-s3';

export interface MinioServer {
  endpoint: string;
  port: number;
  accessKey: string;
  secretKey: string;
  client: S3Client;
  dataDir: string;
  createBucket(name: string, options?: { versioned?: boolean }): Promise<void>;
  put(
    bucket: string,
    key: string,
    body: Buffer | string,
    extra?: Partial<ConstructorParameters<typeof PutObjectCommand>[0]>,
  ): Promise<void>;
  /**
   * put without the checksum the SDK sends by default: the object carries its ETag (an MD5) alone,
   * like one uploaded before S3 added checksums, or by a client that sends none.
   */
  putWithoutChecksum(
    bucket: string,
    key: string,
    body: Buffer | string,
  ): Promise<void>;
  stop(): Promise<void>;
}

/**
 * createBucket and put over an S3 client with root credentials, for seeding a test server;
 * `config` is the client's own (putWithoutChecksum makes a client of it that sends no checksum).
 */
export function bucketWriter(
  client: S3Client,
  config: S3ClientConfig,
): Pick<MinioServer, 'createBucket' | 'put' | 'putWithoutChecksum'> {
  return {
    async createBucket(name, options = {}) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
      if (options.versioned) {
        await client.send(
          new PutBucketVersioningCommand({
            Bucket: name,
            VersioningConfiguration: { Status: 'Enabled' },
          }),
        );
      }
    },
    async put(bucket, key, body, extra = {}) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ...extra,
        }),
      );
    },
    async putWithoutChecksum(bucket, key, body) {
      const plain = new S3Client({
        ...config,
        requestChecksumCalculation: 'WHEN_REQUIRED',
      });
      try {
        await plain.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }),
        );
      } finally {
        plain.destroy();
      }
    },
  };
}

export function cacheDir(): string {
  return (
    process.env.KUBE_RESTORE_CACHE ||
    path.join(os.homedir(), '.cache', 'kube-restore')
  );
}

/** The MinIO binary: $MINIO_BIN, servers.env's MINIO=, or the newest bin/minio-* in the cache. */
export function findMinioBinary(): string {
  const fromEnv = process.env.MINIO_BIN;
  if (fromEnv) {
    if (!existsSync(fromEnv))
      throw new Error(`MINIO_BIN=${fromEnv} does not exist`);
    return fromEnv;
  }
  const cache = cacheDir();
  const envFile = path.join(cache, 'servers.env');
  if (existsSync(envFile)) {
    const line = readFileSync(envFile, 'utf8')
      .split('\n')
      .find(l => l.startsWith('MINIO='));
    const bin = line?.slice('MINIO='.length).trim();
    if (bin && existsSync(bin)) return bin;
  }
  const binDir = path.join(cache, 'bin');
  const candidates = existsSync(binDir)
    ? readdirSync(binDir)
        .filter(n => /^minio-v/.test(n))
        .sort()
    : [];
  if (candidates.length > 0)
    return path.join(binDir, candidates[candidates.length - 1]);
  throw new Error(
    `no MinIO binary in ${binDir}: run test/cluster/scripts/build-servers.sh minio (or set MINIO_BIN). ` +
      'Integration tests need a real S3 server and do not skip.',
  );
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitReady(
  endpoint: string,
  child: ChildProcess,
  log: () => string,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`minio exited with ${child.exitCode}:\n${log()}`);
    try {
      const res = await fetch(`${endpoint}/minio/health/ready`);
      if (res.ok) return;
    } catch {
      // not yet
    }
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`minio did not become ready in 30s:\n${log()}`);
}

/**
 * `domain`: MINIO_DOMAIN, so that MinIO also serves virtual-hosted requests (`bucket.domain`).
 * `region`: MINIO_SITE_REGION, so that MinIO refuses requests signed for another region (by
 * default it takes any).
 */
export async function startMinio(
  options: { domain?: string; region?: string } = {},
): Promise<MinioServer> {
  const bin = findMinioBinary();
  const port = await freePort();
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-minio-'));
  const accessKey = `AK${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretKey = `SK${randomBytes(16).toString('hex')}`;
  const endpoint = `http://127.0.0.1:${port}`;
  let output = '';
  const child = spawn(
    bin,
    [
      'server',
      dataDir,
      '--address',
      `127.0.0.1:${port}`,
      '--console-address',
      `127.0.0.1:${await freePort()}`,
      '--quiet',
    ],
    {
      env: {
        ...process.env,
        MINIO_ROOT_USER: accessKey,
        MINIO_ROOT_PASSWORD: secretKey,
        MINIO_BROWSER: 'off',
        MINIO_UPDATE: 'off',
        ...(options.domain ? { MINIO_DOMAIN: options.domain } : {}),
        ...(options.region ? { MINIO_SITE_REGION: options.region } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', d => (output += d));
  child.stderr!.on('data', d => (output += d));
  await waitReady(endpoint, child, () => output);
  const config: S3ClientConfig = {
    endpoint,
    region: options.region ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
  };
  const client = new S3Client(config);
  return {
    endpoint,
    port,
    accessKey,
    secretKey,
    client,
    dataDir,
    ...bucketWriter(client, config),
    async stop() {
      client.destroy();
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise(r => child.once('exit', r));
      }
      await fsp.rm(dataDir, { recursive: true, force: true });
    },
  };
}
