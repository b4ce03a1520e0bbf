/**
 * One writer per PVC, atomically: a restore holds a coordination.k8s.io Lease named after its PVC,
 * taken by createRestore before its Job exists. The API server decides races: creating a Lease
 * that exists fails (409), and taking over a Lease is a replace with the resourceVersion that was
 * read (409 when another caller changed it first). So of two creates into one PVC in the same
 * instant exactly one gets the Lease; the other is refused with a message naming the holder.
 *
 * Why a Lease and not an annotation on the PVC: the PVC may be the user's own (`mode: existing`),
 * and writing to it would need update rights on every PVC of the namespace (and fight with GitOps
 * tools that own it); a Lease is kube-restore's own object, in its own API group.
 *
 * The Lease is released when the restore ends, without anyone having to remember to release it:
 * - once the Job exists the Lease carries an ownerReference to it, so deleting the Job (delete,
 *   TTL after finishing) deletes the Lease by garbage collection;
 * - a Lease whose holder Job has ended (Complete or Failed), is gone, or is an abandoned create
 *   (interrupted.ts) is free: the next create takes it over;
 * - a create interrupted before its Job existed leaves a Lease with no owner: it is free once
 *   `leaseDurationSeconds` (LEASE_PENDING_SECONDS) have passed since its renewTime;
 * - a create that fails after taking the Lease gives it back (holderIdentity cleared).
 * Verbs: get, create, update on leases (no delete, no list, no patch).
 */
import { createHash } from 'node:crypto';
import type { V1Job, V1Lease } from '@kubernetes/client-node';
import {
  LABEL_MANAGED_BY,
  LABEL_RESTORE,
  MANAGED_BY_VALUE,
} from '@kube-restore/common';
import type { KubeClients } from './clients';
import { callApi, isNotFound, RestoreError } from './errors';
import { isAbandonedCreate } from './interrupted';
import { isLiveJob, pvcInUse } from './writers';

export const LEASE_PREFIX = 'kube-restore-pvc-';
/** How long a Lease whose Job does not exist yet stays taken (a create makes its Job within it). */
export const LEASE_PENDING_SECONDS = 120;
const MAX_NAME = 253;
const LEASE_RESOURCE = 'leases.coordination.k8s.io';

/** The Lease of PVC `pvc`: the prefix and the PVC's name, hashed when that would be too long. */
export function leaseNameFor(pvc: string): string {
  const name = `${LEASE_PREFIX}${pvc}`;
  if (name.length <= MAX_NAME) return name;
  const hash = createHash('sha256').update(pvc).digest('hex').slice(0, 8);
  const keep = MAX_NAME - LEASE_PREFIX.length - hash.length - 1;
  return `${LEASE_PREFIX}${pvc.slice(0, keep).replace(/[-.]+$/, '')}-${hash}`;
}

export interface PvcLeaseTarget {
  namespace: string;
  pvc: string;
  /** The restore (Job name) that wants to write the PVC. */
  restore: string;
}

/** A Lease held by this create: bind it to the Job once it exists, or give it back. */
export interface PvcLease {
  bindToJob(job: V1Job): Promise<void>;
  release(): Promise<void>;
}

const ctx = (verb: string, namespace: string, name: string) => ({
  verb,
  resource: LEASE_RESOURCE,
  namespace,
  name,
});

async function readLease(
  clients: KubeClients,
  namespace: string,
  name: string,
): Promise<V1Lease | undefined> {
  try {
    return await callApi(ctx('get', namespace, name), () =>
      clients.coordination.readNamespacedLease({ name, namespace }),
    );
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

const isConflict = (error: unknown) =>
  error instanceof RestoreError && error.statusCode === 409;

/**
 * Whether the Lease's holder no longer writes the PVC: its Job ended, is an abandoned create, or
 * is gone (at once when the Lease was bound to it; after the pending time when it never existed).
 */
export async function holderEnded(
  clients: KubeClients,
  lease: V1Lease,
  now: number = Date.now(),
): Promise<boolean> {
  const holder = lease.spec?.holderIdentity;
  if (!holder) return true;
  const namespace = lease.metadata?.namespace ?? '';
  const job = await callApi(
    { verb: 'get', resource: 'jobs.batch', namespace, name: holder },
    () =>
      clients.batch
        .readNamespacedJob({ name: holder, namespace })
        .catch(error => {
          if (isNotFound(error)) return undefined;
          throw error;
        }),
  );
  const bound = lease.metadata?.ownerReferences?.find(o => o.kind === 'Job');
  if (job) {
    // A Job of the same name made after the bound one ended is another restore's create.
    if (bound && job.metadata?.uid !== bound.uid) return true;
    return !isLiveJob(job) || isAbandonedCreate(job, now);
  }
  if (bound) return true;
  const renewed = new Date(lease.spec?.renewTime ?? 0).getTime();
  const seconds = lease.spec?.leaseDurationSeconds ?? LEASE_PENDING_SECONDS;
  return renewed + seconds * 1000 < now;
}

/**
 * A MicroTime as the API server parses it (six fraction digits): client-node would send a Date
 * with milliseconds, which the API server refuses for a Lease's times.
 */
function microTime(ms: number): Date {
  return new Date(ms).toISOString().replace(/Z$/, '000Z') as unknown as Date;
}

function leaseBody(
  target: PvcLeaseTarget,
  name: string,
  now: number,
  previous?: V1Lease,
): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name,
      namespace: target.namespace,
      labels: {
        [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
        [LABEL_RESTORE]: target.restore,
      },
      ...(previous
        ? { resourceVersion: previous.metadata?.resourceVersion }
        : {}),
    },
    spec: {
      holderIdentity: target.restore,
      leaseDurationSeconds: LEASE_PENDING_SECONDS,
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (previous?.spec?.leaseTransitions ?? -1) + 1,
    },
  };
}

/**
 * Takes the PVC's Lease for `target.restore`, or throws Conflict naming the restore that holds it.
 * With `dryRun` nothing is written: it only refuses when another live restore holds the Lease.
 */
export async function acquirePvcLease(
  clients: KubeClients,
  target: PvcLeaseTarget,
  options: { dryRun?: boolean; now?: () => number } = {},
): Promise<PvcLease | undefined> {
  const { namespace, pvc, restore } = target;
  const name = leaseNameFor(pvc);
  const now = options.now ?? Date.now;
  for (let attempt = 0; attempt < 5; attempt++) {
    const lease = await readLease(clients, namespace, name);
    const holder = lease?.spec?.holderIdentity;
    if (lease && holder && holder !== restore) {
      if (!(await holderEnded(clients, lease, now())))
        throw pvcInUse(namespace, pvc, holder);
    }
    if (options.dryRun) return undefined;
    if (lease && holder === restore) return held(clients, target, lease);
    try {
      const body = leaseBody(target, name, now(), lease);
      const taken = lease
        ? await callApi(ctx('update', namespace, name), () =>
            clients.coordination.replaceNamespacedLease({
              name,
              namespace,
              body,
            }),
          )
        : await callApi(ctx('create', namespace, name), () =>
            clients.coordination.createNamespacedLease({ namespace, body }),
          );
      return held(clients, target, taken);
    } catch (error) {
      // Another create took or changed it between our read and write: read it again.
      if (!isConflict(error)) throw error;
    }
  }
  throw new RestoreError(
    'Conflict',
    `the lease ${name} of PVC "${pvc}" in namespace ${namespace} keeps changing; try again`,
  );
}

function held(
  clients: KubeClients,
  target: PvcLeaseTarget,
  initial: V1Lease,
): PvcLease {
  const { namespace, pvc, restore } = target;
  const name = initial.metadata?.name ?? leaseNameFor(pvc);
  let lease = initial;
  /** Replaces the Lease if it is still ours; re-reads once on a conflict. */
  const rewrite = async (change: (l: V1Lease) => V1Lease) => {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (lease.spec?.holderIdentity !== restore)
        throw pvcInUse(namespace, pvc, lease.spec?.holderIdentity ?? '?');
      try {
        const body = change(lease);
        lease = await callApi(ctx('update', namespace, name), () =>
          clients.coordination.replaceNamespacedLease({
            name,
            namespace,
            body,
          }),
        );
        return;
      } catch (error) {
        if (!isConflict(error)) throw error;
        const fresh = await readLease(clients, namespace, name);
        if (!fresh)
          throw pvcInUse(namespace, pvc, '(a lease that was removed)');
        lease = fresh;
      }
    }
  };
  return {
    bindToJob: job =>
      rewrite(l => ({
        ...l,
        metadata: {
          ...l.metadata,
          ownerReferences: [
            {
              apiVersion: 'batch/v1',
              kind: 'Job',
              name: job.metadata?.name ?? restore,
              uid: job.metadata?.uid ?? '',
              controller: false,
              blockOwnerDeletion: false,
            },
          ],
        },
        spec: { ...l.spec, renewTime: microTime(Date.now()) },
      })),
    release: () =>
      rewrite(l => ({
        ...l,
        metadata: { ...l.metadata, ownerReferences: [] },
        spec: { ...l.spec, holderIdentity: undefined },
      })).catch(() => undefined),
  };
}
