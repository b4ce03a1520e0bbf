/*
 * Small helpers for tests that run on the harness (also used by test/e2e).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_DIR } from './paths';
import { KubeApiError, KubeClient } from './kube';
import { JOB_IMAGE } from './node/images';

/** the job image every node has (imported from `npm run image`'s archive) */
export const TEST_JOB_IMAGE = JOB_IMAGE;

export async function waitUntil<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v as T;
      last = v;
    } catch (e) {
      last = e;
    }
    await new Promise(r => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs / 1000}s waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`,
  );
}

/**
 * A scriptable stand-in for the job program (fixtures/job-stub.cjs), for tests of the harness
 * itself: run by the job image's own node, so it is a real container on a real node.
 */
export const JOB_STUB = path.join(PACKAGE_DIR, 'fixtures', 'job-stub.cjs');

/** The container command that runs JOB_STUB with `args` in the job image. */
export function stubCommand(args: string[]): string[] {
  return [
    '/nodejs/bin/node',
    '-e',
    fs.readFileSync(JOB_STUB, 'utf8'),
    'job-stub',
    ...args,
  ];
}

/**
 * A pod spec that passes Pod Security `restricted`, running the job image: with `stub`, the
 * job-stub's script (see JOB_STUB) instead of the job program.
 */
export function restrictedPodSpec(opts: {
  /** job-stub arguments (the container runs the stub) */
  stub?: string[];
  args?: string[];
  image?: string;
  env?: any[];
  pvc?: string;
  mountPath?: string;
  restartPolicy?: 'Never' | 'OnFailure';
  terminationMessagePolicy?: 'File' | 'FallbackToLogsOnError';
  terminationGracePeriodSeconds?: number;
  extraVolumes?: any[];
  extraMounts?: any[];
}): any {
  const volumes = [
    ...(opts.pvc
      ? [{ name: 'data', persistentVolumeClaim: { claimName: opts.pvc } }]
      : []),
    { name: 'tmp', emptyDir: {} },
    ...(opts.extraVolumes ?? []),
  ];
  const volumeMounts = [
    ...(opts.pvc
      ? [{ name: 'data', mountPath: opts.mountPath ?? '/data' }]
      : []),
    { name: 'tmp', mountPath: '/tmp' },
    ...(opts.extraMounts ?? []),
  ];
  return {
    restartPolicy: opts.restartPolicy ?? 'Never',
    automountServiceAccountToken: false,
    ...(opts.terminationGracePeriodSeconds !== undefined
      ? { terminationGracePeriodSeconds: opts.terminationGracePeriodSeconds }
      : {}),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [
      {
        name: 'restore',
        image: opts.image ?? TEST_JOB_IMAGE,
        ...(opts.stub
          ? { command: stubCommand(opts.stub) }
          : { args: opts.args ?? [] }),
        env: opts.env ?? [],
        terminationMessagePolicy:
          opts.terminationMessagePolicy ?? 'FallbackToLogsOnError',
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        },
        volumeMounts,
      },
    ],
    volumes,
  };
}

export function jobManifest(
  name: string,
  podSpec: any,
  spec: Record<string, unknown> = {},
): any {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      ...spec,
      template: { metadata: { labels: { test: name } }, spec: podSpec },
    },
  };
}

export function pvcManifest(
  name: string,
  size = '1Gi',
  storageClassName?: string,
): any {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: size } },
      ...(storageClassName ? { storageClassName } : {}),
    },
  };
}

export async function jobCondition(
  client: KubeClient,
  ns: string,
  name: string,
): Promise<any | undefined> {
  const job = await client.get(`/apis/batch/v1/namespaces/${ns}/jobs/${name}`);
  return (job.status?.conditions ?? []).find(
    (c: any) =>
      (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );
}

export async function waitForJobFinished(
  client: KubeClient,
  ns: string,
  name: string,
  timeoutMs = 60_000,
) {
  return waitUntil(
    `Job ${ns}/${name} to finish`,
    () => jobCondition(client, ns, name),
    timeoutMs,
  );
}

export async function podsOfJob(
  client: KubeClient,
  ns: string,
  name: string,
): Promise<any[]> {
  const list = await client.get(`/api/v1/namespaces/${ns}/pods`, {
    query: { labelSelector: `batch.kubernetes.io/job-name=${name}` },
  });
  return list.items;
}

export async function exists(
  client: KubeClient,
  apiPath: string,
): Promise<boolean> {
  try {
    await client.get(apiPath);
    return true;
  } catch (e) {
    if (e instanceof KubeApiError && e.statusCode === 404) return false;
    throw e;
  }
}

/**
 * Host PIDs of a pod's container processes (the sandbox's pause process left out), found in the
 * pod's cgroup under any node's cgroup root: what a real kubelet started for that pod.
 */
export function podProcesses(podUid: string): number[] {
  const root = '/sys/fs/cgroup/pids';
  const found: number[] = [];
  const walk = (dir: string, inPod: boolean) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (inPod) {
      try {
        for (const l of fs
          .readFileSync(path.join(dir, 'cgroup.procs'), 'utf8')
          .split('\n'))
          if (l.trim()) found.push(Number(l));
      } catch {
        /* gone */
      }
    }
    for (const e of entries)
      if (e.isDirectory())
        walk(path.join(dir, e.name), inPod || e.name === `pod${podUid}`);
  };
  for (const top of fs.readdirSync(root, { withFileTypes: true }))
    if (top.isDirectory() && top.name.startsWith('kube-restore-'))
      walk(path.join(root, top.name), false);
  return found.filter(pid => {
    try {
      return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'pause';
    } catch {
      return false;
    }
  });
}
