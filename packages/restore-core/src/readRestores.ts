/**
 * Observe: get and list restores with their status, their events and their logs. Every Kubernetes
 * call goes through callApi so errors say what to do.
 */
import { CoreV1Event, V1Job, V1Pod } from '@kubernetes/client-node';
import {
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
  ProgressLine,
  RestoreStatus,
  lastProgressLine,
} from '@kube-restore/common';
import { KubeClients } from './clients';
import { RestoreError, callApi, isNotFound } from './errors';
import { CONTAINER_NAME, restoreSelector } from './manifests';
import { populatorRestorePvcUid } from './populatorName';
import { deriveRestoreStatus } from './status';

async function podsOf(
  clients: KubeClients,
  namespace: string,
  name: string,
): Promise<V1Pod[]> {
  const list = await callApi(
    { verb: 'list', resource: 'pods', namespace },
    () =>
      clients.core.listNamespacedPod({
        namespace,
        labelSelector: restoreSelector(name),
      }),
  );
  return list.items;
}

/** The newest progress line of a running pod, from the tail of its log. */
async function progressOf(
  clients: KubeClients,
  pod: V1Pod,
): Promise<ProgressLine | undefined> {
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? '';
  try {
    const log = await clients.core.readNamespacedPodLog({
      name,
      namespace,
      container: CONTAINER_NAME,
      tailLines: 50,
    });
    return lastProgressLine(typeof log === 'string' ? log : String(log ?? ''));
  } catch {
    // Logs are best effort: a pod that just started or a kubelet that is away must not fail a status read.
    return undefined;
  }
}

async function statusOf(
  clients: KubeClients,
  job: V1Job,
  withProgress: boolean,
): Promise<RestoreStatus> {
  const namespace = job.metadata?.namespace ?? '';
  const name = job.metadata?.name ?? '';
  const pods = await podsOf(clients, namespace, name);
  const progressByPod: Record<string, ProgressLine | undefined> = {};
  if (withProgress) {
    const running = pods.filter(p => p.status?.phase === 'Running');
    await Promise.all(
      running.map(async pod => {
        progressByPod[pod.metadata?.name ?? ''] = await progressOf(
          clients,
          pod,
        );
      }),
    );
  }
  return deriveRestoreStatus({ job, pods, progressByPod });
}

/** Reads a restore's Job; a missing one is a NotFound naming the restore. */
export async function readRestoreJob(
  clients: KubeClients,
  namespace: string,
  name: string,
): Promise<V1Job> {
  return callApi({ verb: 'get', resource: 'jobs.batch', namespace, name }, () =>
    clients.batch.readNamespacedJob({ name, namespace }),
  ).catch(error => {
    if (isNotFound(error)) {
      throw new RestoreError(
        'NotFound',
        `restore "${name}" not found in namespace ${namespace}`,
        { statusCode: 404 },
      );
    }
    throw error;
  });
}

export async function getRestore(
  clients: KubeClients,
  namespace: string,
  name: string,
  options: { progress?: boolean } = {},
): Promise<RestoreStatus> {
  const job = await readRestoreJob(clients, namespace, name);
  if (job.metadata?.labels?.[LABEL_MANAGED_BY] !== MANAGED_BY_VALUE) {
    throw new RestoreError(
      'NotFound',
      `Job "${name}" in namespace ${namespace} is not a kube-restore restore`,
      { statusCode: 404 },
    );
  }
  return statusOf(clients, job, options.progress ?? true);
}

export interface ListRestoresOptions {
  /** One namespace; undefined lists every namespace (needs cluster-wide list rights). */
  namespace?: string;
  /** Extra label selector, ANDed with kube-restore's own. */
  labelSelector?: string;
  /** Read progress from the logs of running pods (one log read per running pod). */
  progress?: boolean;
}

export async function listRestores(
  clients: KubeClients,
  options: ListRestoresOptions = {},
): Promise<RestoreStatus[]> {
  const labelSelector = [restoreSelector(), options.labelSelector]
    .filter(Boolean)
    .join(',');
  const { namespace } = options;
  const jobs = await callApi(
    { verb: 'list', resource: 'jobs.batch', namespace },
    () =>
      namespace
        ? clients.batch.listNamespacedJob({ namespace, labelSelector })
        : clients.batch.listJobForAllNamespaces({ labelSelector }),
  );
  const statuses = await Promise.all(
    jobs.items.map(job => statusOf(clients, job, options.progress ?? false)),
  );
  return statuses.sort(
    (a, b) =>
      (b.createdAt ?? '').localeCompare(a.createdAt ?? '') ||
      a.name.localeCompare(b.name),
  );
}

const PVC_KIND = 'PersistentVolumeClaim';

/**
 * Events of the Job, its pods and its PVC, oldest first: only events whose involvedObject is of the
 * kind that name belongs to (a Pod or Deployment named like the PVC is not the restore's). A finished
 * populator restore (`prime-<uid>`) has no Job, pods or prime PVC left: its events are those still
 * listed for its Job and prime PVC and those of the user's PVC (`also`) that the populator recorded
 * for it (started, progress, failed, finished), which carry that PVC's uid (recordPvcEvent).
 */
export async function restoreEvents(
  clients: KubeClients,
  namespace: string,
  name: string,
  /** Further objects whose events belong to it (the user's PVC of a populator restore). */
  also: string[] = [],
): Promise<CoreV1Event[]> {
  // a populator restore carries the uid of the user's PVC in its name (prime-<uid>)
  const uid = populatorRestorePvcUid(name);
  /** The kinds each name's events may be of. */
  const kinds = new Map<string, Set<string>>();
  const add = (object: string, kind: string) =>
    kinds.set(object, (kinds.get(object) ?? new Set()).add(kind));
  // the Job; a populator restore's prime PVC has the Job's name
  add(name, 'Job');
  if (uid) add(name, PVC_KIND);
  try {
    const status = await getRestore(clients, namespace, name, {
      progress: false,
    });
    add(status.pvc, PVC_KIND);
    status.pods.forEach(pod => add(pod, 'Pod'));
  } catch (error) {
    if (!(isNotFound(error) && uid)) throw error;
  }
  also.forEach(object => add(object, PVC_KIND));
  const belongs = ({ involvedObject: o }: CoreV1Event) => {
    if (!o?.name || !o.kind) return false;
    // of the user's PVC, only the events of the PVC with that uid: not of an earlier PVC of the
    // same name, filled by another restore, nor of an event with no uid
    if (uid && o.name !== name && also.includes(o.name))
      return o.kind === PVC_KIND && o.uid === uid;
    return kinds.get(o.name)?.has(o.kind) ?? false;
  };
  // one list per name, selected by the API server: not every event of the namespace
  const lists = await Promise.all(
    [...kinds.keys()].map(object =>
      callApi({ verb: 'list', resource: 'events', namespace }, () =>
        clients.core.listNamespacedEvent({
          namespace,
          fieldSelector: `involvedObject.name=${object}`,
        }),
      ),
    ),
  );
  const time = (e: CoreV1Event) =>
    new Date(
      e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0,
    ).getTime();
  return lists
    .flatMap(list => list.items)
    .filter(belongs)
    .sort((a, b) => time(a) - time(b));
}

/** The log of the restore's newest pod (all of it, or the last `tailLines`). */
export async function restoreLogs(
  clients: KubeClients,
  namespace: string,
  name: string,
  options: { tailLines?: number; pod?: string } = {},
): Promise<{ pod: string; log: string }> {
  const status = await getRestore(clients, namespace, name, {
    progress: false,
  });
  const pod = options.pod ?? status.pods.at(-1);
  if (!pod)
    throw new RestoreError(
      'NotFound',
      `restore "${name}" has no pod yet (phase ${status.phase})`,
    );
  const log = await callApi(
    { verb: 'get', resource: 'pods/log', namespace, name: pod },
    () =>
      clients.core.readNamespacedPodLog({
        name: pod,
        namespace,
        container: CONTAINER_NAME,
        tailLines: options.tailLines,
      }),
  );
  return { pod, log: typeof log === 'string' ? log : String(log ?? '') };
}
