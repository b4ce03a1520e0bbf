/**
 * Create-to-Succeeded latency on the harness (a real kube-apiserver, Job controller and scheduler,
 * two real nodes running the job image in containers, and MinIO): one small restore, then N restores
 * created at once, each through core's createRestore and followed with watchRestore until it is
 * terminal.
 */
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { isTerminalPhase, parseRestoreRequest } from '@kube-restore/common';
import {
  createKubeClients,
  createRestore,
  createS3Client,
  KubeClients,
  loadKubeConfig,
  watchRestore,
} from '@kube-restore/core';
import { startCluster } from '@kube-restore/test-cluster';
import { median } from './stats';

export async function measureClusterLatency(opts: {
  concurrent: number;
  log: (m: string) => void;
}): Promise<string> {
  const { log } = opts;
  const t0 = Date.now();
  const cluster = await startCluster();
  const startS = (Date.now() - t0) / 1000;
  log(`cluster up in ${startS.toFixed(1)} s`);
  try {
    const s3info = cluster.s3;
    if (!s3info) throw new Error('the harness started without MinIO');
    const keys = {
      accessKeyId: s3info.accessKeyId,
      secretAccessKey: s3info.secretAccessKey,
    };
    const s3 = createS3Client(
      { endpoint: s3info.endpoint, region: s3info.region, pathStyle: true },
      keys,
    );
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'latency' }));
      await s3.send(
        new PutObjectCommand({
          Bucket: 'latency',
          Key: 'small/hello.txt',
          Body: 'hello\n',
        }),
      );
      await s3.send(
        new PutObjectCommand({
          Bucket: 'latency',
          Key: 'small/sub/world.txt',
          Body: 'world\n',
        }),
      );
    } finally {
      s3.destroy();
    }
    const clients: KubeClients = createKubeClients(
      loadKubeConfig({ kubeconfig: cluster.kubeconfig.admin }),
    );
    const namespace = 'team-a';
    const one = async (name: string): Promise<number> => {
      const started = Date.now();
      const request = parseRestoreRequest({
        name,
        source: {
          endpoint: s3info.endpoint,
          region: s3info.region,
          bucket: 'latency',
          prefix: 'small/',
        },
        target: { namespace, pvc: `${name}-data`, size: '1Gi' },
      });
      await createRestore(clients, request, {
        credentials: keys,
        requester: 'bench',
      });
      for await (const status of watchRestore(clients, namespace, name, {
        pollIntervalMs: 500,
      })) {
        if (isTerminalPhase(status.phase)) {
          if (status.phase !== 'Succeeded')
            throw new Error(
              `restore ${name} ended ${status.phase}: ${status.error?.message ?? ''}`,
            );
          return (Date.now() - started) / 1000;
        }
      }
      throw new Error(`the watch of ${name} ended before a terminal phase`);
    };
    const singles: number[] = [];
    for (let i = 0; i < 3; i++) {
      singles.push(await one(`lat-single-${i}`));
      log(`single restore ${i}: ${singles[i].toFixed(2)} s`);
    }
    const burstStart = Date.now();
    const burst = await Promise.all(
      Array.from({ length: opts.concurrent }, (_, i) => one(`lat-burst-${i}`)),
    );
    const burstAll = (Date.now() - burstStart) / 1000;
    burst.sort((a, b) => a - b);
    log(
      `${opts.concurrent} concurrent restores: all Succeeded in ${burstAll.toFixed(1)} s`,
    );
    return [
      `## Create-to-Succeeded latency on the harness (${cluster.kubernetesVersion})`,
      '',
      `Cluster start: ${startS.toFixed(1)} s. Restore of 2 small objects, createRestore then watchRestore until Succeeded (the job image in a container on one of two real nodes; the cluster refuses an image older than its sources).`,
      '',
      '| case | median s | p90 s | max s |',
      '|---|---:|---:|---:|',
      `| one restore at a time (3 runs) | ${median(singles).toFixed(2)} | | ${Math.max(...singles).toFixed(2)} |`,
      `| ${opts.concurrent} created at once | ${median(burst).toFixed(2)} | ${burst[Math.floor(burst.length * 0.9)].toFixed(2)} | ${burst[burst.length - 1].toFixed(2)} (all done after ${burstAll.toFixed(1)} s) |`,
      '',
    ].join('\n');
  } finally {
    await cluster.stop();
  }
}
