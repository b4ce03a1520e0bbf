/*
 * Small helpers for tests that run on the harness (also used by test/e2e).
 */
import { KubeApiError, KubeClient } from './kube';

export const TEST_JOB_IMAGE = 'ghcr.io/kube-restore/restore-job:test';

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

/** A pod spec that passes Pod Security `restricted`, running the job image with `args`. */
export function restrictedPodSpec(opts: {
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
        args: opts.args ?? [],
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
  path: string,
): Promise<boolean> {
  try {
    await client.get(path);
    return true;
  } catch (e) {
    if (e instanceof KubeApiError && e.statusCode === 404) return false;
    throw e;
  }
}
