/**
 * One writer per PVC, as core sees it: a restore into a PVC that another live restore (a Job not yet
 * Complete or Failed) targets is refused with a message naming it, before anything is created. This
 * check reads the namespace's restore Jobs (it also covers restores made before the PVC Lease); two
 * creates in the same instant both pass it, and the PVC's Lease (pvcLease.ts) decides between them.
 */
import type { V1Job } from '@kubernetes/client-node';
import type { KubeClients } from './clients';
import { callApi, RestoreError } from './errors';
import { restoreSelector } from './manifests';
import { requestOfJob } from './status';

/** The namespace's restore Jobs; undefined when this identity may not list them (the job still refuses). */
export async function restoreJobsIn(
  clients: KubeClients,
  namespace: string,
): Promise<V1Job[] | undefined> {
  try {
    const list = await callApi(
      { verb: 'list', resource: 'jobs.batch', namespace },
      () =>
        clients.batch.listNamespacedJob({
          namespace,
          labelSelector: restoreSelector(),
        }),
    );
    return list.items;
  } catch {
    return undefined;
  }
}

/** A Job that has not ended: no Complete or Failed condition. */
export function isLiveJob(job: V1Job): boolean {
  return !(job.status?.conditions ?? []).some(
    c => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );
}

/** The live restore other than `self` whose request targets PVC `pvc`, if any. */
export function liveWriterOf(
  jobs: readonly V1Job[],
  pvc: string,
  self: string,
): string | undefined {
  const writer = jobs.find(
    job =>
      job.metadata?.name !== self &&
      isLiveJob(job) &&
      requestOfJob(job)?.target.pvc === pvc,
  );
  return writer?.metadata?.name;
}

export function pvcInUse(
  namespace: string,
  pvc: string,
  writer: string,
): RestoreError {
  return new RestoreError(
    'Conflict',
    `PVC "${pvc}" in namespace ${namespace} is being restored by restore "${writer}"; one restore writes a volume at a time: ` +
      `wait until "${writer}" ends (kubectl restore describe ${writer} -n ${namespace}) or delete it`,
  );
}
