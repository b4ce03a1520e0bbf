/**
 * Apply and observe: create, get, list and delete restores on a cluster. Every Kubernetes call goes
 * through callApi so errors say what to do. The calls made here are exactly what deploy/rbac grants.
 */
import {
  CoreV1Event,
  PatchStrategy,
  V1Job,
  V1OwnerReference,
  V1PersistentVolumeClaim,
  V1Pod,
  setHeaderOptions,
} from '@kubernetes/client-node';
import {
  ANNOTATION_CREATED_BY,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
  ProgressLine,
  RestoreRequest,
  RestoreStatus,
  canonicalJson,
  lastProgressLine,
  type AccessCheck,
} from '@kube-restore/common';
import { KubeClients } from './clients';
import { RestoreError, callApi, isNotFound } from './errors';
import {
  BuildOptions,
  CONTAINER_NAME,
  RestoreManifests,
  buildRestoreManifests,
  restoreSelector,
} from './manifests';
import {
  ANNOTATION_RESUME_BY,
  expireInterruptedCreates,
  resumeBy,
} from './interrupted';
import { deriveRestoreStatus, requestOfJob } from './status';
import { liveWriterOf, pvcInUse, restoreJobsIn } from './writers';
import { withShardBounds, withoutShards } from './shardBounds';
import { acquirePvcLease, type PvcLease } from './pvcLease';

export interface CreateRestoreOptions extends BuildOptions {
  /** `server`: send every object with dryRun=All; nothing is persisted. */
  dryRun?: 'server';
}

export interface CreateRestoreResult {
  manifests: RestoreManifests;
  /** False when the same request had already been created: the existing restore is returned. */
  created: boolean;
  status: RestoreStatus;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

async function readOptional<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** The PVC, or undefined when there is none. */
export async function readPvc(
  clients: KubeClients,
  namespace: string,
  name: string,
): Promise<V1PersistentVolumeClaim | undefined> {
  return callApi(
    { verb: 'get', resource: 'persistentvolumeclaims', namespace, name },
    () =>
      readOptional(() =>
        clients.core.readNamespacedPersistentVolumeClaim({ name, namespace }),
      ),
  );
}

function sameRequest(job: V1Job, request: RestoreRequest): boolean {
  const existing = requestOfJob(job);
  return (
    existing !== undefined &&
    canonicalJson(withoutShards(existing)) ===
      canonicalJson(withoutShards(request))
  );
}

/**
 * Creates the restore: checks the target PVC, then PVC (when new) -> Job (suspended while a Secret is
 * to be made) -> Secret owned by the Job -> Job resumed. Idempotent: the same request again returns the
 * existing restore. An existing PVC is never resized or overwritten; one kube-restore did not create is
 * used only when the request says `mode: existing`. If a step fails, what this call created is removed.
 */
export async function createRestore(
  clients: KubeClients,
  request: RestoreRequest,
  options: CreateRestoreOptions = {},
): Promise<CreateRestoreResult> {
  let manifests = buildRestoreManifests(request, options);
  const { name, namespace } = manifests;
  const dryRun = options.dryRun === 'server' ? 'All' : undefined;

  const existingJob = await callApi(
    { verb: 'get', resource: 'jobs.batch', namespace, name },
    () =>
      readOptional(() => clients.batch.readNamespacedJob({ name, namespace })),
  );
  if (existingJob) {
    if (!sameRequest(existingJob, manifests.request)) {
      throw new RestoreError(
        'Conflict',
        `a restore named "${name}" already exists in namespace ${namespace} with a different request; choose another name or delete it first`,
      );
    }
    if (!existingJob.spec?.suspend || dryRun) {
      return {
        manifests,
        created: false,
        status: await getRestore(clients, namespace, name),
      };
    }
    // A create that stopped half-way: finish it below.
  }

  const pvcName = request.target.pvc;
  const existingPvc = await readPvc(clients, namespace, pvcName);
  checkPvc(request, name, existingPvc);

  if (!existingJob) {
    // Creates interrupted for good end first; then no other live restore may target the PVC.
    let jobs = (await restoreJobsIn(clients, namespace)) ?? [];
    if (!dryRun) {
      const expired = await expireInterruptedCreates(clients, namespace, jobs);
      jobs = jobs.filter(j => !expired.includes(j.metadata?.name ?? ''));
    }
    const writer = liveWriterOf(jobs, pvcName, name);
    if (writer) throw pvcInUse(namespace, pvcName, writer);
    // A sharded restore lists its source once here, so that each shard lists only its range.
    manifests = await withShardBounds(request, manifests, options);
  }
  // The atomic half of one writer per PVC: the PVC's Lease, taken before anything is created.
  const lease: PvcLease | undefined = await acquirePvcLease(
    clients,
    { namespace, pvc: pvcName, restore: name },
    { dryRun: dryRun !== undefined },
  );

  const undo: (() => Promise<unknown>)[] = [];
  // A create that finishes an interrupted one keeps the Lease for the Job that is still there.
  if (lease && !existingJob) undo.push(() => lease.release());
  try {
    if (manifests.pvc && !existingPvc) {
      const body = manifests.pvc;
      await callApi(
        {
          verb: 'create',
          resource: 'persistentvolumeclaims',
          namespace,
          name: pvcName,
        },
        () =>
          clients.core.createNamespacedPersistentVolumeClaim({
            namespace,
            body,
            dryRun,
          }),
      );
      if (!dryRun) {
        undo.push(() =>
          clients.core.deleteNamespacedPersistentVolumeClaim({
            name: pvcName,
            namespace,
          }),
        );
      }
    }

    let job = existingJob;
    if (!job) {
      const body: V1Job = manifests.secret
        ? {
            ...manifests.job,
            metadata: {
              ...manifests.job.metadata,
              annotations: {
                ...manifests.job.metadata?.annotations,
                [ANNOTATION_RESUME_BY]: resumeBy(Date.now()),
              },
            },
            spec: { ...manifests.job.spec!, suspend: true },
          }
        : manifests.job;
      job = await callApi(
        { verb: 'create', resource: 'jobs.batch', namespace, name },
        () => clients.batch.createNamespacedJob({ namespace, body, dryRun }),
      );
      if (!dryRun) {
        undo.push(() =>
          clients.batch.deleteNamespacedJob({
            name,
            namespace,
            propagationPolicy: 'Background',
          }),
        );
      }
    }

    // From here the Lease goes with the Job (garbage collection) and is free once the Job ends.
    if (lease && job) await lease.bindToJob(job);

    if (manifests.secret) {
      const owner: V1OwnerReference = {
        apiVersion: 'batch/v1',
        kind: 'Job',
        name,
        uid: job.metadata?.uid ?? 'dry-run',
        controller: true,
        blockOwnerDeletion: false,
      };
      const body = {
        ...manifests.secret,
        metadata: { ...manifests.secret.metadata, ownerReferences: [owner] },
      };
      try {
        await callApi(
          {
            verb: 'create',
            resource: 'secrets',
            namespace,
            name: body.metadata.name,
          },
          () =>
            clients.core.createNamespacedSecret({ namespace, body, dryRun }),
        );
      } catch (error) {
        // Left by an earlier, interrupted create of this same restore: it is owned by this Job.
        if (!(
          error instanceof RestoreError &&
          error.kind === 'Conflict' &&
          existingJob
        ))
          throw error;
      }
      if (!dryRun) {
        await callApi(
          { verb: 'patch', resource: 'jobs.batch', namespace, name },
          () =>
            clients.batch.patchNamespacedJob(
              // Only spec.suspend (deploy/policy admits nothing else): resume-by stays and means
              // nothing on a Job that is not suspended.
              { name, namespace, body: { spec: { suspend: false } } },
              mergePatch,
            ),
        );
      }
    }
  } catch (error) {
    for (const step of undo.reverse()) {
      await step().catch(() => undefined);
    }
    throw error;
  }

  if (dryRun) {
    return {
      manifests,
      created: true,
      status: {
        ...deriveRestoreStatus({ job: manifests.job, pods: [] }),
        name,
        namespace,
      },
    };
  }
  return {
    manifests,
    created: true,
    status: await getRestore(clients, namespace, name),
  };
}

function checkPvc(
  request: RestoreRequest,
  restoreName: string,
  pvc: V1PersistentVolumeClaim | undefined,
) {
  const { namespace, pvc: pvcName, mode } = request.target;
  if (mode === 'existing') {
    if (!pvc) {
      throw new RestoreError(
        'NotFound',
        `PVC "${pvcName}" not found in namespace ${namespace}; create it first or restore into a new PVC`,
      );
    }
    return;
  }
  if (
    pvc &&
    pvc.metadata?.annotations?.[ANNOTATION_CREATED_BY] !== restoreName
  ) {
    throw new RestoreError(
      'Conflict',
      `PVC "${pvcName}" already exists in namespace ${namespace} and was not created by this restore; ` +
        'kube-restore never overwrites a volume: restore into it with --existing-pvc (and a --conflict policy) or choose another PVC name',
    );
  }
}

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
async function readRestoreJob(
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

export interface DeleteRestoreResult {
  job: string;
  /** Set when the PVC was deleted too. */
  pvc?: string;
}

/**
 * Deletes the Job; its pods and its owned credentials Secret go with it (garbage collection).
 * The PVC only when asked, and only when kube-restore created it for this restore.
 */
export async function deleteRestore(
  clients: KubeClients,
  namespace: string,
  name: string,
  options: { deletePvc?: boolean } = {},
): Promise<DeleteRestoreResult> {
  const job = await readRestoreJob(clients, namespace, name);
  if (job.metadata?.labels?.[LABEL_MANAGED_BY] !== MANAGED_BY_VALUE) {
    throw new RestoreError(
      'Conflict',
      `Job "${name}" in namespace ${namespace} was not created by kube-restore; not deleting it`,
    );
  }
  const request = requestOfJob(job);
  await callApi(
    { verb: 'delete', resource: 'jobs.batch', namespace, name },
    () =>
      clients.batch.deleteNamespacedJob({
        name,
        namespace,
        propagationPolicy: 'Background',
      }),
  );
  const result: DeleteRestoreResult = { job: name };
  if (options.deletePvc && request) {
    const pvcName = request.target.pvc;
    const pvc = await readPvc(clients, namespace, pvcName);
    if (pvc) {
      if (pvc.metadata?.annotations?.[ANNOTATION_CREATED_BY] !== name) {
        throw new RestoreError(
          'Conflict',
          `the restore was deleted, but PVC "${pvcName}" was not created by it and is kept`,
        );
      }
      await callApi(
        {
          verb: 'delete',
          resource: 'persistentvolumeclaims',
          namespace,
          name: pvcName,
        },
        () =>
          clients.core.deleteNamespacedPersistentVolumeClaim({
            name: pvcName,
            namespace,
          }),
      );
      result.pvc = pvcName;
    }
  }
  return result;
}

/** Events of the Job, its pods and its PVC, oldest first. */
export async function restoreEvents(
  clients: KubeClients,
  namespace: string,
  name: string,
  /** Further objects whose events belong to it (the user's PVC of a populator restore). */
  also: string[] = [],
): Promise<CoreV1Event[]> {
  const status = await getRestore(clients, namespace, name, {
    progress: false,
  });
  const names = new Set([name, status.pvc, ...status.pods, ...also]);
  const list = await callApi(
    { verb: 'list', resource: 'events', namespace },
    () => clients.core.listNamespacedEvent({ namespace }),
  );
  const time = (e: CoreV1Event) =>
    new Date(
      e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0,
    ).getTime();
  return list.items
    .filter(e => names.has(e.involvedObject?.name ?? ''))
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

export type { AccessCheck } from '@kube-restore/common';

/** What `createRestore` (and status, logs and delete) need, checked with SelfSubjectAccessReview. */
export function requiredAccess(
  request: RestoreRequest,
  options: { withSecret?: boolean } = {},
) {
  const needs: Omit<AccessCheck, 'allowed' | 'namespace'>[] = [
    { verb: 'create', resource: 'jobs', group: 'batch' },
    { verb: 'get', resource: 'jobs', group: 'batch' },
    { verb: 'list', resource: 'pods', group: '' },
    { verb: 'get', resource: 'pods', group: '', subresource: 'log' },
    { verb: 'get', resource: 'persistentvolumeclaims', group: '' },
    // The PVC's Lease (pvcLease.ts): one writer per volume.
    { verb: 'get', resource: 'leases', group: 'coordination.k8s.io' },
    { verb: 'create', resource: 'leases', group: 'coordination.k8s.io' },
    { verb: 'update', resource: 'leases', group: 'coordination.k8s.io' },
  ];
  if (request.target.mode === 'new')
    needs.push({
      verb: 'create',
      resource: 'persistentvolumeclaims',
      group: '',
    });
  if (options.withSecret) {
    needs.push(
      { verb: 'create', resource: 'secrets', group: '' },
      { verb: 'patch', resource: 'jobs', group: 'batch' },
    );
  }
  return needs;
}

export async function checkAccess(
  clients: KubeClients,
  request: RestoreRequest,
  options: { withSecret?: boolean } = {},
): Promise<AccessCheck[]> {
  const namespace = request.target.namespace;
  return Promise.all(
    requiredAccess(request, options).map(async need => {
      const review = await callApi(
        {
          verb: 'create',
          resource: 'selfsubjectaccessreviews.authorization.k8s.io',
        },
        () =>
          clients.authz.createSelfSubjectAccessReview({
            body: {
              apiVersion: 'authorization.k8s.io/v1',
              kind: 'SelfSubjectAccessReview',
              spec: { resourceAttributes: { namespace, ...need } },
            },
          }),
      );
      return {
        ...need,
        namespace,
        allowed: review.status?.allowed ?? false,
        reason: review.status?.reason,
      };
    }),
  );
}
