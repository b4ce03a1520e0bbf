/**
 * The restores the populator runs, as kubectl list/status/describe show them: each prime PVC it made
 * (annotated with the user's PVC it fills, named like its restore Job) and the RestoreSource that PVC
 * names; and, once the prime PVC and Job are gone, the finished ones as the RestoreSources' per-PVC
 * status (status.pvcs) records them.
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import {
  describeSource,
  ErrorCode,
  RESTORE_SOURCE_GROUP,
  RESTORE_SOURCE_PLURAL,
  RESTORE_SOURCE_VERSION,
  restoreSourceSpecSchema,
  RestoreStatus,
} from '@kube-restore/common';
import { callApi } from './errors';
import { KubeClients } from './clients';
import {
  ANNOTATION_PRIME_FOR,
  RestoreSourceObject,
  restoreSourceOf,
} from './populator';
import { isPopulatorRestoreName } from './populatorName';

export { isPopulatorRestoreName };

export interface PopulatorRestore {
  namespace: string;
  /** The restore (its Job) and the prime PVC it fills: `prime-<uid of the user's PVC>`. */
  name: string;
  /** The user's PVC that gets the prime PVC's volume once the restore succeeded. */
  pvc: string;
  /** The RestoreSource the user's PVC names, while that PVC exists. */
  restoreSource?: string;
}

/**
 * The populator's restores in `namespace` (every namespace when undefined): one list of PVCs, so a
 * user who may list PVCs there sees them.
 */
export async function listPopulatorRestores(
  clients: KubeClients,
  namespace?: string,
): Promise<PopulatorRestore[]> {
  const pvcs = await callApi(
    { verb: 'list', resource: 'persistentvolumeclaims', namespace },
    () =>
      namespace
        ? clients.core.listNamespacedPersistentVolumeClaim({ namespace })
        : clients.core.listPersistentVolumeClaimForAllNamespaces({}),
  );
  const byUid = new Map(pvcs.items.map(p => [p.metadata?.uid, p]));
  return pvcs.items.flatMap(prime => {
    const primeFor = prime.metadata?.annotations?.[ANNOTATION_PRIME_FOR];
    if (!primeFor) return [];
    const [, pvc, uid] = primeFor.split('/');
    const user = byUid.get(uid);
    const restoreSource = user ? restoreSourceOf(user) : undefined;
    return [
      {
        namespace: prime.metadata!.namespace!,
        name: prime.metadata!.name!,
        pvc,
        ...(restoreSource ? { restoreSource } : {}),
      },
    ];
  });
}

/** A restore as list shows it, with the populator's part: the user's PVC and its RestoreSource. */
export type RecordedPopulatorRestore = RestoreStatus & {
  populator: { pvc: string; restoreSource: string };
};

/**
 * The finished (Succeeded or Failed) populator restores that `sources`' status.pvcs record, pure. The
 * record keeps when the restore finished, not when it began: createdAt and finishedAt are both that.
 */
export function recordedPopulatorRestores(
  sources: RestoreSourceObject[],
): RecordedPopulatorRestore[] {
  return sources.flatMap(rs => {
    // the spec is what a user of the namespace wrote: described only once the schema accepts it
    const spec = restoreSourceSpecSchema.safeParse(rs.spec ?? {});
    const source = spec.success
      ? describeSource(spec.data.source)
      : '<invalid RestoreSource>';
    return (rs.status?.pvcs ?? []).flatMap(entry => {
      if (entry.state !== 'Succeeded' && entry.state !== 'Failed') return [];
      // only a name the populator gives its restores: a forged status must not relabel another restore
      if (!entry.restore || !isPopulatorRestoreName(entry.restore)) return [];
      const failed = entry.state === 'Failed';
      const row: RecordedPopulatorRestore = {
        name: entry.restore,
        namespace: rs.metadata.namespace,
        phase: entry.state,
        pvc: entry.restore,
        source,
        createdAt: entry.lastTransitionTime,
        finishedAt: entry.lastTransitionTime,
        attempts: entry.attempts ?? (failed ? 1 : 0),
        failedAttempts: failed ? (entry.attempts ?? 1) : 0,
        pods: [],
        requester: `populator for ${rs.metadata.namespace}/${entry.pvc}`,
        ...(failed
          ? {
              error: {
                // the populator's own codes (SOURCE_TOO_BIG, ...) are not the job's ErrorCodes
                code: (entry.code ?? 'UNKNOWN') as ErrorCode,
                message: entry.message ?? 'the restore failed',
              },
            }
          : {}),
        populator: { pvc: entry.pvc, restoreSource: rs.metadata.name },
      };
      return [row];
    });
  });
}

/** The RestoreSources in `namespace` (every namespace when undefined), with their status. */
export async function listRestoreSources(
  clients: KubeClients,
  namespace?: string,
): Promise<RestoreSourceObject[]> {
  const api = clients.kc.makeApiClient(CustomObjectsApi);
  const crd = {
    group: RESTORE_SOURCE_GROUP,
    version: RESTORE_SOURCE_VERSION,
    plural: RESTORE_SOURCE_PLURAL,
  };
  const list = (await callApi(
    { verb: 'list', resource: 'restoresources.kube-restore.io', namespace },
    () =>
      namespace
        ? api.listNamespacedCustomObject({ ...crd, namespace })
        : api.listClusterCustomObject(crd),
  )) as { items?: RestoreSourceObject[] };
  return list.items ?? [];
}
