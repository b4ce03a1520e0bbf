/**
 * Apply: create and delete restores on a cluster (reading them: readRestores.ts). Every Kubernetes
 * call goes through callApi so errors say what to do. The calls made here are exactly what
 * deploy/rbac grants.
 */
import {
  PatchStrategy,
  V1Job,
  V1OwnerReference,
  setHeaderOptions,
} from '@kubernetes/client-node';
import {
  ANNOTATION_CREATED_BY,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
  RestoreRequest,
  RestoreStatus,
  canonicalJson,
  withDefaultConcurrency,
} from '@kube-restore/common';
import { KubeClients } from './clients';
import { RestoreError, callApi, readOptional } from './errors';
import { RestoreManifests, buildRestoreManifests } from './manifests';
import {
  ANNOTATION_RESUME_BY,
  expireInterruptedCreates,
  resumeBy,
} from './interrupted';
import { deriveRestoreStatus, requestOfJob } from './status';
import { liveWriterOf, pvcInUse, restoreJobsIn } from './writers';
import {
  withShardBounds,
  withoutShards,
  type WithShardBoundsOptions,
} from './shardBounds';
import { acquirePvcLease, type PvcLease } from './pvcLease';
import { checkPvc, readPvc } from './targetPvc';
import { getRestore, readRestoreJob } from './readRestores';

export interface CreateRestoreOptions extends WithShardBoundsOptions {
  /** `server`: send every object with dryRun=All; nothing is persisted. */
  dryRun?: 'server';
  /**
   * Ends the create's own S3 listing (a sharded restore's bounds) when the caller gives up; a
   * service passes a deadline (deadline.ts) so that an endpoint that never answers cannot hold it.
   */
  signal?: AbortSignal;
}

export interface CreateRestoreResult {
  manifests: RestoreManifests;
  /** False when the same request had already been created: the existing restore is returned. */
  created: boolean;
  status: RestoreStatus;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function sameRequest(job: V1Job, request: RestoreRequest): boolean {
  const existing = requestOfJob(job);
  return (
    existing !== undefined &&
    canonicalJson(withDefaultConcurrency(withoutShards(existing))) ===
      canonicalJson(withDefaultConcurrency(withoutShards(request)))
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
    // A sharded restore lists its source here (within a page budget), so that each shard lists
    // only its range.
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
