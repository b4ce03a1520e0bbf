/**
 * Creates that stopped half-way. A restore with keys is created as a suspended Job, then its Secret
 * (owned by the Job), then the Job is resumed; a caller killed in between leaves a suspended Job
 * (and maybe its Secret) that nothing would ever end: a suspended Job has no deadline and no TTL.
 * Such a Job carries ANNOTATION_RESUME_BY; once that time has passed it is abandoned, and the next
 * create in the namespace deletes it (the Secret goes with it by garbage collection). An abandoned
 * create does not hold its PVC (writers.ts): it is deleted first.
 */
import type { V1Job } from '@kubernetes/client-node';
import type { KubeClients } from './clients';
import { callApi } from './errors';

/** On a Job created suspended: when the create that made it counts as abandoned (RFC 3339). */
export const ANNOTATION_RESUME_BY = 'kube-restore.io/resume-by';
/** How long a create may take between the suspended Job and its resume. */
export const INTERRUPTED_CREATE_TTL_MS = 10 * 60_000;

export function resumeBy(now: number): string {
  return new Date(now + INTERRUPTED_CREATE_TTL_MS).toISOString();
}

/** A Job still suspended after its create's deadline: the create was interrupted for good. */
export function isAbandonedCreate(job: V1Job, now: number): boolean {
  const by = job.metadata?.annotations?.[ANNOTATION_RESUME_BY];
  if (!job.spec?.suspend || by === undefined) return false;
  const deadline = Date.parse(by);
  return Number.isFinite(deadline) && deadline < now;
}

/**
 * Deletes the abandoned creates among `jobs` (the namespace's restore Jobs); best effort: a caller
 * that may not delete Jobs still creates its restore. Returns the names deleted.
 */
export async function expireInterruptedCreates(
  clients: KubeClients,
  namespace: string,
  jobs: readonly V1Job[],
  now: number = Date.now(),
): Promise<string[]> {
  const deleted: string[] = [];
  for (const job of jobs) {
    const name = job.metadata?.name;
    if (!name || !isAbandonedCreate(job, now)) continue;
    try {
      await callApi(
        { verb: 'delete', resource: 'jobs.batch', namespace, name },
        () =>
          clients.batch.deleteNamespacedJob({
            name,
            namespace,
            propagationPolicy: 'Background',
          }),
      );
      deleted.push(name);
    } catch {
      // Cleanup is a courtesy of the next create; it never fails one.
    }
  }
  return deleted;
}
