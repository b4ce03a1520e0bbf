/**
 * The target PVC of a restore: reading it, and whether a restore may use it (never a volume it did
 * not create for a new-PVC restore; an existing-PVC restore needs it to be there).
 */
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { ANNOTATION_CREATED_BY, RestoreRequest } from '@kube-restore/common';
import { KubeClients } from './clients';
import { RestoreError, callApi, readOptional } from './errors';

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

/** Throws when `request` may not restore into `pvc` (what readPvc gave). */
export function checkPvc(
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
