/**
 * Restores the populator runs for a PVC that names a RestoreSource: their Job and prime PVC are named
 * `prime-<uid>`, the PVC that people know is the user's. list, status and describe say so.
 */
import type { RestoreStatus } from '@kube-restore/common';
import {
  KubeClients,
  isPopulatorRestoreName,
  listPopulatorRestores,
} from '@kube-restore/core';

/** A restore as list, status and describe print it. */
export type RestoreRow = RestoreStatus & {
  /** Set for a restore the populator runs. */
  populator?: {
    /** The user's PVC it fills (the restore writes into the prime PVC, status.pvc). */
    pvc: string;
    restoreSource?: string;
  };
};

/**
 * `statuses` with the populator's part filled in. Asks the cluster (one list of PVCs) only when a
 * restore has a populator's name; a user who may not list PVCs sees the restores as they are.
 */
export async function withPopulator(
  clients: KubeClients,
  namespace: string | undefined,
  statuses: RestoreStatus[],
): Promise<RestoreRow[]> {
  if (!statuses.some(s => isPopulatorRestoreName(s.name))) return statuses;
  let restores;
  try {
    restores = await listPopulatorRestores(clients, namespace);
  } catch (error) {
    if ((error as { kind?: string }).kind === 'Forbidden') return statuses;
    throw error;
  }
  return statuses.map(s => {
    const p = restores.find(
      r => r.namespace === s.namespace && r.name === s.name,
    );
    if (!p) return s;
    return {
      ...s,
      populator: {
        pvc: p.pvc,
        ...(p.restoreSource ? { restoreSource: p.restoreSource } : {}),
      },
    };
  });
}
