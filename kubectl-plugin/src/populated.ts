/**
 * Restores the populator runs for a PVC that names a RestoreSource: their Job and prime PVC are named
 * `prime-<uid>`, the PVC that people know is the user's. list, status and describe say so.
 */
import type { RestoreStatus } from '@kube-restore/common';
import {
  KubeClients,
  isPopulatorRestoreName,
  listPopulatorRestores,
  listRestoreSources,
  recordedPopulatorRestores,
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

/**
 * `rows` with the finished populator restores whose Job and prime PVC are gone, from the
 * RestoreSources' status.pvcs (the durable record), newest first like listRestores. A user who may
 * not list RestoreSources, or a cluster without the CRD, gets `rows` as they are.
 */
export async function withRecordedPopulatorRestores(
  clients: KubeClients,
  namespace: string | undefined,
  rows: RestoreRow[],
): Promise<RestoreRow[]> {
  let sources;
  try {
    sources = await listRestoreSources(clients, namespace);
  } catch (error) {
    const kind = (error as { kind?: string }).kind;
    if (kind === 'Forbidden' || kind === 'NotFound') return rows;
    throw error;
  }
  const key = (r: { namespace: string; name: string }) =>
    `${r.namespace}/${r.name}`;
  const records = new Map(
    recordedPopulatorRestores(sources).map(r => [key(r), r]),
  );
  // a Job still there whose prime PVC is gone: the record says whose restore it was
  const known = rows.map(r => {
    const record = records.get(key(r));
    records.delete(key(r));
    return r.populator || !record ? r : { ...r, populator: record.populator };
  });
  if (records.size === 0) return known;
  return [...known, ...records.values()].sort(
    (a, b) =>
      (b.createdAt ?? '').localeCompare(a.createdAt ?? '') ||
      a.name.localeCompare(b.name),
  );
}

/**
 * The finished populator restore `name` as its RestoreSource recorded it, for status and describe once
 * its Job is gone; undefined when there is no such record (or no right to list RestoreSources).
 */
export async function recordedPopulatorRestore(
  clients: KubeClients,
  namespace: string,
  name: string,
): Promise<RestoreRow | undefined> {
  if (!isPopulatorRestoreName(name)) return undefined;
  const rows = await withRecordedPopulatorRestores(clients, namespace, []);
  return rows.find(r => r.name === name);
}
