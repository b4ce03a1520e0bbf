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
  restoreLogs,
  restoreSelector,
  watchRestore,
} from '@kube-restore/core';
import { startCluster } from '@kube-restore/test-cluster';
import { median } from './stats';

/** Seconds of running past which a burst restore's log is kept. */
const SLOW_RUN_S = 10;

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
    const times = new Map<string, { created: number; seen: number }>();
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
          times.set(name, { created: started, seen: Date.now() });
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
    const phases = await burstPhases(
      clients,
      namespace,
      Array.from({ length: opts.concurrent }, (_, i) => `lat-burst-${i}`),
      times,
    );
    // A restore of two small objects that ran for more than 10 s waited on something: its log
    // (retries, what it waited for) goes to the bench's log.
    for (const p of phases.filter(x => x.running > SLOW_RUN_S)) {
      const podLog = await restoreLogs(clients, namespace, p.name, {
        pod: p.pod,
      }).then(
        r => r.log,
        (e: unknown) => `(no log: ${(e as Error).message})`,
      );
      log(
        `slow pod ${p.pod} (${p.ip} on ${p.node}), ran ${p.running} s:\n${podLog}`,
      );
    }
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
      phaseTable(phases),
    ].join('\n');
  } finally {
    await cluster.stop();
  }
}

/** Where a restore's time went, from the API's own timestamps (second resolution). */
interface Phases {
  name: string;
  pod: string;
  ip: string;
  node: string;
  /** createRestore called to its Job created (PVC, Secret, Lease and Job, and any checks). */
  createToJob: number;
  /** Job created to its (last) pod created. */
  jobToPod: number;
  /** Pod created to scheduled (waits for the PVC's volume, then a node). */
  podToScheduled: number;
  /** Scheduled to the container running (volume mount, sandbox, container start). */
  scheduledToStarted: number;
  /** Container running to terminated. */
  running: number;
  /** Container terminated to watchRestore reporting Succeeded. */
  endToSeen: number;
  /** Pods the Job made (more than one: a retry). */
  pods: number;
}

async function burstPhases(
  clients: KubeClients,
  namespace: string,
  names: string[],
  times: Map<string, { created: number; seen: number }>,
): Promise<Phases[]> {
  const secs = (d: Date | string | undefined): number =>
    d === undefined ? NaN : new Date(d).getTime() / 1000;
  const out: Phases[] = [];
  for (const name of names) {
    const jobs = await clients.batch.listNamespacedJob({
      namespace,
      labelSelector: restoreSelector(name),
    });
    const job = jobs.items[0];
    const pods = (
      await clients.core.listNamespacedPod({
        namespace,
        labelSelector: restoreSelector(name),
      })
    ).items.sort(
      (a, b) =>
        secs(a.metadata?.creationTimestamp) -
        secs(b.metadata?.creationTimestamp),
    );
    const pod = pods[pods.length - 1];
    if (!job || !pod) continue;
    const scheduled = pod.status?.conditions?.find(
      c => c.type === 'PodScheduled' && c.status === 'True',
    )?.lastTransitionTime;
    const term = pod.status?.containerStatuses?.[0]?.state?.terminated;
    out.push({
      name,
      pod: pod.metadata?.name ?? '',
      ip: pod.status?.podIP ?? '',
      node: pod.spec?.nodeName ?? '',
      createToJob:
        secs(job.metadata?.creationTimestamp) -
        (times.get(name)?.created ?? NaN) / 1000,
      jobToPod:
        secs(pod.metadata?.creationTimestamp) -
        secs(job.metadata?.creationTimestamp),
      podToScheduled: secs(scheduled) - secs(pod.metadata?.creationTimestamp),
      scheduledToStarted: secs(term?.startedAt) - secs(scheduled),
      running: secs(term?.finishedAt) - secs(term?.startedAt),
      endToSeen: (times.get(name)?.seen ?? NaN) / 1000 - secs(term?.finishedAt),
      pods: pods.length,
    });
  }
  return out;
}

function phaseTable(phases: Phases[]): string {
  if (phases.length === 0) return '';
  const cols: [string, (p: Phases) => number][] = [
    ['createRestore called to Job created', p => p.createToJob],
    ['Job created to pod created', p => p.jobToPod],
    ['pod created to scheduled', p => p.podToScheduled],
    ['scheduled to container started', p => p.scheduledToStarted],
    ['container running', p => p.running],
    ['container ended to Succeeded seen', p => p.endToSeen],
    ['pods per Job', p => p.pods],
  ];
  const rows = cols.map(([label, f]) => {
    const v = phases
      .map(f)
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    return `| ${label} | ${median(v).toFixed(1)} | ${v[v.length - 1].toFixed(1)} |`;
  });
  return [
    "Where the burst's time went (the API's timestamps, whole seconds):",
    '',
    '| phase | median | max |',
    '|---|---:|---:|',
    ...rows,
    '',
  ].join('\n');
}
