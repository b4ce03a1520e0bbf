/*
 * Helpers shared by the e2e suites that run core against the harness cluster (test/cluster).
 */
import * as path from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { RestoreStatus, isTerminalPhase } from '@kube-restore/common';
import {
  KubeClients,
  createKubeClients,
  createS3Client,
  getRestore,
  loadKubeConfig,
} from '@kube-restore/core';
import { Cluster, startCluster } from '@kube-restore/test-cluster';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');
/**
 * A cluster whose nodes run the job image: startCluster() fails when the image is missing or older
 * than its sources (run `npm run image`); nothing skips.
 */
export async function startClusterWithJobProgram(): Promise<Cluster> {
  return startCluster();
}

export function clientsFrom(kubeconfig: string): KubeClients {
  return createKubeClients(loadKubeConfig({ kubeconfig }));
}

/** Polls `fn` until it returns something other than undefined; its last error is in the timeout message. */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise(r => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
  );
}

/** The harness MinIO's keys, as createRestore's `credentials` option takes them. */
export function s3Keys(cluster: Cluster) {
  if (!cluster.s3) throw new Error('the harness started without MinIO');
  return {
    accessKeyId: cluster.s3.accessKeyId,
    secretAccessKey: cluster.s3.secretAccessKey,
  };
}

/** Creates `bucket` in the harness MinIO and puts `objects` (key -> body) into it. */
export async function seedBucket(
  cluster: Cluster,
  bucket: string,
  objects: Record<string, string | Buffer>,
): Promise<void> {
  if (!cluster.s3) throw new Error('the harness started without MinIO');
  const s3 = createS3Client(
    {
      endpoint: cluster.s3.endpoint,
      region: cluster.s3.region,
      pathStyle: true,
    },
    s3Keys(cluster),
  );
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const [Key, Body] of Object.entries(objects))
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
  } finally {
    s3.destroy();
  }
}

/** The restore's status once it has Succeeded or Failed. */
export function restoreEnd(
  clients: KubeClients,
  namespace: string,
  name: string,
  timeoutMs = 180_000,
): Promise<RestoreStatus> {
  return eventually(
    `restore ${namespace}/${name} to finish`,
    async () => {
      const s = await getRestore(clients, namespace, name);
      return isTerminalPhase(s.phase) ? s : undefined;
    },
    timeoutMs,
  );
}
