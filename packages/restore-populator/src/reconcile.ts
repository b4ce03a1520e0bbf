/** One PVC's step of the populator: wait, restore into the prime PVC, rebind, clean up. */
import {
  PopulationState,
  RestoreRequestError,
  RestoreStatus,
  requestFromRestoreSource,
} from '@kube-restore/common';
import {
  ANNOTATION_PRIME_FOR,
  ANNOTATION_RECLAIM_POLICY,
  ANNOTATION_SELECTED_NODE,
  KubeClients,
  createRestore,
  deadline,
  DEFAULT_S3_DEADLINE_MS,
  deletePvcIfPresent,
  deleteRestore,
  ensurePrimePvc,
  getRestore,
  getRestoreSource,
  isNotFound,
  primePvcName,
  readPv,
  rebindPv,
  recordPvcEvent,
  restoreReclaimPolicy,
  restoreSourceOf,
  RestoreError,
  setPopulationStatus,
  setPopulatorProblem,
  ANNOTATION_POPULATOR_PROBLEM,
  WAITING_SUSPENDED,
  waitsForFirstConsumer,
} from '@kube-restore/core';
import {
  CredentialsError,
  restoreSourceKeys,
  withCopiedKeys,
} from './credentials';
import { CODE_TOO_BIG, sourceFits } from './fits';
import {
  progressMessage,
  progressStep,
  REASON_PROGRESS,
} from './progressEvents';

/** A PVC as the watch delivers it (client-node's V1PersistentVolumeClaim). */
export type PvcLike = Parameters<typeof restoreSourceOf>[0];

export interface ReconcileContext {
  clients: KubeClients;
  image?: string;
  backoff: { initialMs: number; maxMs: number };
  log: (message: string) => void;
  /** per user PVC uid: failed attempts so far and when the next may start */
  attempts: Map<string, { failures: number; notBefore: number }>;
  /** what was already reported once (events are not repeated on every resync) */
  reported: Set<string>;
  isKnownUid: (uid: string) => boolean;
  /** told what happens (metrics.ts counts it) */
  observe?: PopulatorObserver;
}

/** What a reconcile reports as it goes, per user PVC uid. */
export interface PopulatorObserver {
  reconciled(ok: boolean): void;
  started(uid: string): void;
  succeeded(uid: string): void;
  failed(uid: string, code: string): void;
  /** the PVC went away */
  gone(uid: string): void;
}

export const REASON_STARTED = 'RestoreStarted';
export const REASON_FAILED = 'RestoreFailed';
export const REASON_FINISHED = 'RestoreFinished';
export const REASON_INVALID = 'InvalidRestoreSource';
export const REASON_TOO_BIG = 'SourceTooBig';
export const NOT_OPTED_IN = (namespace: string) =>
  `namespace ${namespace} has not opted in to declarative restores: its admin runs kubectl apply -k deploy/populator/opt-in -n ${namespace}`;

export async function reconcilePvc(
  ctx: ReconcileContext,
  pvc: PvcLike,
  synced: boolean,
): Promise<void> {
  const primeFor = pvc.metadata?.annotations?.[ANNOTATION_PRIME_FOR];
  if (primeFor !== undefined) {
    // a prime PVC whose user PVC is gone (deleted while this process was away): remove it
    const uid = primeFor.split('/')[2] ?? '';
    if (synced && !ctx.isKnownUid(uid)) {
      const namespace = pvc.metadata!.namespace!;
      await removeRestore(ctx, namespace, pvc.metadata!.name!);
      await deletePvcIfPresent(ctx.clients, namespace, pvc.metadata!.name!);
    }
    return;
  }
  const source = restoreSourceOf(pvc);
  if (!source) return;
  if (pvc.metadata?.deletionTimestamp) {
    await cleanUp(ctx, pvc);
    return;
  }
  if (pvc.spec?.volumeName) {
    await finish(ctx, pvc, source);
    return;
  }
  await populate(ctx, pvc, source);
}

/** The user's PVC went away: its prime PVC and restore Job (and the Job's pods and Secret) go too. */
export async function cleanUp(ctx: ReconcileContext, pvc: PvcLike) {
  const namespace = pvc.metadata!.namespace!;
  const prime = primePvcName(pvc);
  await removeRestore(ctx, namespace, prime);
  await deletePvcIfPresent(ctx.clients, namespace, prime);
  ctx.observe?.gone(pvc.metadata!.uid!);
  forget(ctx, pvc.metadata!.uid!);
}

/** Drops what was remembered about a PVC (its attempts and what was reported). */
function forget(ctx: ReconcileContext, uid: string) {
  ctx.attempts.delete(uid);
  for (const key of ctx.reported)
    if (key.includes(uid)) ctx.reported.delete(key);
}

async function removeRestore(
  ctx: ReconcileContext,
  namespace: string,
  name: string,
) {
  try {
    await deleteRestore(ctx.clients, namespace, name);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

async function populate(ctx: ReconcileContext, pvc: PvcLike, source: string) {
  const namespace = pvc.metadata!.namespace!;
  const uid = pvc.metadata!.uid!;
  const prime = primePvcName(pvc);
  let restoreSource;
  try {
    restoreSource = await getRestoreSource(ctx.clients, namespace, source);
  } catch (e) {
    if (!(e instanceof RestoreError && e.kind === 'Forbidden')) throw e;
    // no rights here: the namespace has not opted in; say so on the PVC, the one thing we may write
    if (
      pvc.metadata?.annotations?.[ANNOTATION_POPULATOR_PROBLEM] !==
      NOT_OPTED_IN(namespace)
    )
      await setPopulatorProblem(ctx.clients, pvc, NOT_OPTED_IN(namespace));
    return;
  }
  if (pvc.metadata?.annotations?.[ANNOTATION_POPULATOR_PROBLEM] !== undefined)
    await setPopulatorProblem(ctx.clients, pvc, undefined);
  const wffc = await waitsForFirstConsumer(
    ctx.clients,
    pvc.spec?.storageClassName,
  );
  if (wffc && !pvc.metadata?.annotations?.[ANNOTATION_SELECTED_NODE]) {
    await status(ctx, pvc, source, 'Waiting', {
      message: 'waiting for a pod to use the PVC (WaitForFirstConsumer)',
    });
    return;
  }
  const attempt = ctx.attempts.get(uid);
  if (attempt && Date.now() < attempt.notBefore) return;

  if (!restoreSource) {
    await fail(
      ctx,
      pvc,
      source,
      'SOURCE_NOT_FOUND',
      `RestoreSource "${source}" not found in ${namespace}`,
    );
    return;
  }
  let request;
  try {
    request = requestFromRestoreSource(restoreSource.spec, {
      namespace,
      pvc: prime,
      name: prime,
    });
  } catch (e) {
    if (!(e instanceof RestoreRequestError)) throw e;
    await fail(ctx, pvc, source, 'INVALID_SOURCE', e.message, REASON_INVALID);
    return;
  }

  const restore = await currentRestore(ctx, namespace, prime);
  // a create that stopped between its suspended Job and the resume (this process killed or rolled
  // out, or an undo step that failed): created again with the same request and keys, core finishes it
  const interrupted =
    restore?.phase === 'Pending' && restore.waitingReason === WAITING_SUSPENDED;
  let keys;
  if (!restore || interrupted) {
    try {
      keys = await restoreSourceKeys(ctx.clients, request);
    } catch (e) {
      if (!(e instanceof CredentialsError)) throw e;
      await fail(ctx, pvc, source, e.code, e.message);
      return;
    }
  }
  if (!restore) {
    // sized before anything is made for it: a source too big for the PVC gets no prime PVC
    const fit = await sourceFits(
      request,
      keys,
      {
        name: pvc.metadata!.name!,
        storage: pvc.spec?.resources?.requests?.storage,
      },
      // one PVC at a time: an endpoint that never answers must not hold every tenant's population;
      // a source too large to size within the deadline is not sized (the Job's NO_SPACE check guards)
      { signal: deadline(DEFAULT_S3_DEADLINE_MS) },
    ).catch((e: Error) => ({ fits: undefined, why: e.message }));
    if (fit.fits === false) {
      await fail(ctx, pvc, source, CODE_TOO_BIG, fit.message, REASON_TOO_BIG);
      return;
    }
    // not sized (credentials that are the Job's, S3 not reachable from here): the Job finds out
    if (fit.fits === undefined)
      ctx.log(`${namespace}/${pvc.metadata!.name}: not sized: ${fit.why}`);
  }
  const primePvc = await ensurePrimePvc(ctx.clients, pvc);
  if (restore?.phase === 'Failed') {
    if (attempt && attempt.failures > 0 && reportedFailure(ctx, uid, restore)) {
      // the backoff has passed: the next attempt starts from a fresh Job
      // (deleted in the background: the next pass creates it once it is gone)
      await removeRestore(ctx, namespace, prime);
      return;
    }
    const code = restore.error?.code ?? 'UNKNOWN';
    await fail(
      ctx,
      pvc,
      source,
      code,
      restore.error?.message ?? 'the restore failed',
      REASON_FAILED,
      restore,
    );
    return;
  }
  if (!restore || interrupted) {
    // the keys go into the restore's own Secret (credentials.ts): the Job never names the user's
    const copied = withCopiedKeys(request, keys);
    let created;
    try {
      created = await createRestore(ctx.clients, copied.request, {
        ...(copied.credentials ? { credentials: copied.credentials } : {}),
        ...(ctx.image ? { image: ctx.image } : {}),
        requester: `populator for ${namespace}/${pvc.metadata!.name}`,
        // without keys, core lists nothing for the bounds (its identity is not the tenant's)
        signal: deadline(DEFAULT_S3_DEADLINE_MS),
      });
    } catch (e) {
      // refused (deploy/policy, RBAC, admission) or a step failed: the user sees the code, and
      // the next attempt waits for the backoff
      if (!(e instanceof RestoreError)) throw e;
      // an interrupted create made from a request since changed is not finished: it starts afresh
      if (interrupted && e.kind === 'Conflict')
        await removeRestore(ctx, namespace, prime);
      await fail(ctx, pvc, source, restoreErrorCode(e), e.message);
      return;
    }
    await event(
      ctx,
      pvc,
      `started:${uid}:${attempt?.failures ?? 0}`,
      'Normal',
      REASON_STARTED,
      `restoring ${created.status.source} into prime PVC ${prime} (restore ${prime})`,
    );
    ctx.observe?.started(uid);
    await status(ctx, pvc, source, 'Restoring', { restore: prime });
    return;
  }
  if (restore.phase !== 'Succeeded') {
    await reportProgress(ctx, pvc, prime, restore);
    await status(ctx, pvc, source, 'Restoring', { restore: prime });
    return;
  }
  const pvName = primePvc.spec?.volumeName;
  if (!pvName) return; // the prime PVC binds as the restore's pod starts; seen on the next pass
  await rebindPv(ctx.clients, pvName, pvc, source);
  await status(ctx, pvc, source, 'Binding', { restore: prime });
}

/** The user's PVC is bound: if it was through a rebind, finish (policy back, prime PVC and Job gone). */
async function finish(ctx: ReconcileContext, pvc: PvcLike, source: string) {
  if (pvc.status?.phase !== 'Bound') return;
  const pv = await readPv(ctx.clients, pvc.spec!.volumeName!);
  if (!pv?.metadata?.annotations?.['kube-restore.io/populated-from']) return;
  const namespace = pvc.metadata!.namespace!;
  const prime = primePvcName(pvc);
  // the reclaim-policy annotation goes last: without it, this PVC was finished before
  if (pv.metadata.annotations[ANNOTATION_RECLAIM_POLICY] === undefined) return;
  const restore = await currentRestore(ctx, namespace, prime);
  await removeRestore(ctx, namespace, prime);
  await deletePvcIfPresent(ctx.clients, namespace, prime);
  await restoreReclaimPolicy(ctx.clients, pv.metadata.name!);
  const result = restore?.result;
  await event(
    ctx,
    pvc,
    `finished:${pvc.metadata!.uid}`,
    'Normal',
    REASON_FINISHED,
    `populated from RestoreSource ${source}${result ? `: ${JSON.stringify(result).slice(0, 300)}` : ''}`,
  );
  await status(ctx, pvc, source, 'Succeeded', { restore: prime });
  ctx.observe?.succeeded(pvc.metadata!.uid!);
  forget(ctx, pvc.metadata!.uid!);
}

/** A progress event at each quarter of a running restore, once per attempt (progressEvents.ts). */
async function reportProgress(
  ctx: ReconcileContext,
  pvc: PvcLike,
  prime: string,
  restore: RestoreStatus,
) {
  if (restore.phase !== 'Restoring' && restore.phase !== 'Verifying') return;
  const namespace = pvc.metadata!.namespace!;
  // the progress comes from the pods' logs: one read per pass, only while the restore runs
  const progress = await getRestore(ctx.clients, namespace, prime, {
    progress: true,
  }).then(
    r => r.progress,
    (e: Error) => {
      ctx.log(`${namespace}/${prime}: progress not read: ${e.message}`);
      return undefined;
    },
  );
  const step = progressStep(progress);
  if (step === undefined || !progress) return;
  await event(
    ctx,
    pvc,
    `progress:${pvc.metadata!.uid}:${restore.createdAt}:${step}`,
    'Normal',
    REASON_PROGRESS,
    progressMessage(step, progress),
  );
}

async function currentRestore(
  ctx: ReconcileContext,
  namespace: string,
  name: string,
): Promise<RestoreStatus | undefined> {
  try {
    return await getRestore(ctx.clients, namespace, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** A RestoreError's kind as a failure code: Forbidden -> FORBIDDEN, NotFound -> NOT_FOUND. */
export function restoreErrorCode(e: RestoreError): string {
  return e.kind.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

function reportedFailure(
  ctx: ReconcileContext,
  uid: string,
  restore: RestoreStatus,
) {
  return ctx.reported.has(`failed:${uid}:${restore.createdAt}`);
}

/** A failed attempt: one event with the code, the status, and the next attempt after a backoff. */
async function fail(
  ctx: ReconcileContext,
  pvc: PvcLike,
  source: string,
  code: string,
  message: string,
  reason = REASON_FAILED,
  restore?: RestoreStatus,
) {
  const uid = pvc.metadata!.uid!;
  const key = `failed:${uid}:${restore?.createdAt ?? `${code}:${message}`}`;
  if (ctx.reported.has(key)) return;
  const failures = (ctx.attempts.get(uid)?.failures ?? 0) + 1;
  const wait = Math.min(
    ctx.backoff.maxMs,
    ctx.backoff.initialMs * 2 ** (failures - 1),
  );
  ctx.attempts.set(uid, { failures, notBefore: Date.now() + wait });
  ctx.observe?.failed(uid, code);
  await event(
    ctx,
    pvc,
    key,
    'Warning',
    reason,
    `${code}: ${message} (attempt ${failures}; next in ${Math.round(wait / 1000)}s)`,
  );
  await status(ctx, pvc, source, 'Failed', {
    code,
    message,
    attempts: failures,
  });
  if (!restore) setTimeout(() => ctx.reported.delete(key), wait).unref();
}

async function event(
  ctx: ReconcileContext,
  pvc: PvcLike,
  key: string,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
) {
  if (ctx.reported.has(key)) return;
  await recordPvcEvent(ctx.clients, pvc, type, reason, message);
  ctx.reported.add(key);
  ctx.log(
    `${pvc.metadata!.namespace}/${pvc.metadata!.name}: ${reason}: ${message}`,
  );
}

async function status(
  ctx: ReconcileContext,
  pvc: PvcLike,
  source: string,
  state: PopulationState,
  extra: {
    code?: string;
    message?: string;
    restore?: string;
    attempts?: number;
  },
) {
  const key = `status:${pvc.metadata!.uid}:${state}:${extra.code ?? ''}:${extra.attempts ?? ''}`;
  if (ctx.reported.has(key)) return;
  await setPopulationStatus(ctx.clients, pvc.metadata!.namespace!, source, {
    pvc: pvc.metadata!.name!,
    state,
    // every state names the restore (also a failure before its Job): `kubectl restore list` shows
    // finished restores from this record once their Job and prime PVC are gone
    restore: primePvcName(pvc),
    ...extra,
    lastTransitionTime: new Date().toISOString(),
  });
  ctx.reported.add(key);
}
