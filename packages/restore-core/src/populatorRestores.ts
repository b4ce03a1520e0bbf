/**
 * The restores the populator runs, as kubectl list/status/describe show them: each prime PVC it made
 * (annotated with the user's PVC it fills, named like its restore Job) and the RestoreSource that PVC
 * names.
 */
import { callApi } from './errors';
import { KubeClients } from './clients';
import { ANNOTATION_PRIME_FOR, restoreSourceOf } from './populator';

export interface PopulatorRestore {
  namespace: string;
  /** The restore (its Job) and the prime PVC it fills: `prime-<uid of the user's PVC>`. */
  name: string;
  /** The user's PVC that gets the prime PVC's volume once the restore succeeded. */
  pvc: string;
  /** The RestoreSource the user's PVC names, while that PVC exists. */
  restoreSource?: string;
}

/** Whether `name` is one the populator gives its restores (primePvcName): `prime-<uid>`. */
export function isPopulatorRestoreName(name: string): boolean {
  return /^prime-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(
    name,
  );
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
