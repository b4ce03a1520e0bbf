/**
 * What the volume populator (@kube-restore/populator) needs from the Kubernetes API: the user's PVCs
 * that name a RestoreSource, the prime PVC that a restore fills, the rebind of its PV to the user's
 * PVC (as kubernetes-csi/lib-volume-populator does it), events on the user's PVC, and the
 * RestoreSource and its status.
 */
import {
  V1EventSource,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  StorageV1Api,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import {
  ANNOTATION_CREATED_BY,
  LABEL_COMPONENT,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
  PopulationStatus,
  RESTORE_SOURCE_GROUP,
  RESTORE_SOURCE_KIND,
  RESTORE_SOURCE_PLURAL,
  RESTORE_SOURCE_VERSION,
} from '@kube-restore/common';
import { KubeClients } from './clients';
import { callApi, isNotFound } from './errors';
import { watchResumable, WatchEventType } from './watch';

export const ANNOTATION_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
/** On a prime PVC: the namespace/name/uid of the user's PVC it is filled for. */
export const ANNOTATION_PRIME_FOR = 'kube-restore.io/prime-for';
/** On a rebound PV: the RestoreSource it was populated from. */
export const ANNOTATION_POPULATED_FROM = 'kube-restore.io/populated-from';
/** On a PV between rebind and the end: its reclaim policy before it was set to Retain. */
export const ANNOTATION_RECLAIM_POLICY = 'kube-restore.io/reclaim-policy';
export const POPULATOR_COMPONENT = 'kube-restore-populator';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The prime PVC of a user's PVC: `prime-<uid>`, in the same namespace. */
export function primePvcName(userPvc: V1PersistentVolumeClaim): string {
  return `prime-${userPvc.metadata!.uid}`;
}

/** The RestoreSource a PVC names in spec.dataSourceRef, or undefined when it names none. */
export function restoreSourceOf(
  pvc: V1PersistentVolumeClaim,
): string | undefined {
  const ref = pvc.spec?.dataSourceRef;
  if (
    ref?.apiGroup !== RESTORE_SOURCE_GROUP ||
    ref.kind !== RESTORE_SOURCE_KIND
  )
    return undefined;
  if (ref.namespace && ref.namespace !== pvc.metadata?.namespace)
    return undefined; // cross-namespace sources are not supported
  return ref.name;
}

/** Watches every PVC of the cluster (list + watch, resumed); runs until `signal` aborts. */
export function watchPvcs(
  clients: KubeClients,
  onEvent: (type: WatchEventType, pvc?: V1PersistentVolumeClaim) => void,
  signal: AbortSignal,
): Promise<void> {
  return watchResumable(clients.kc, {
    path: '/api/v1/persistentvolumeclaims',
    signal,
    list: async () => {
      const list = await clients.core.listPersistentVolumeClaimForAllNamespaces(
        {},
      );
      for (const pvc of list.items) onEvent('ADDED', pvc);
      return list.metadata?.resourceVersion ?? '';
    },
    onEvent: (type, object) =>
      onEvent(type, object as V1PersistentVolumeClaim | undefined),
  });
}

/** Whether the class binds on first consumer (then the prime PVC waits for the selected node). */
export async function waitsForFirstConsumer(
  clients: KubeClients,
  storageClassName: string | undefined,
): Promise<boolean> {
  if (!storageClassName) return false;
  const storage = clients.kc.makeApiClient(StorageV1Api);
  const sc = await callApi(
    { verb: 'get', resource: 'storageclasses.storage.k8s.io' },
    () => storage.readStorageClass({ name: storageClassName }),
  );
  return sc.volumeBindingMode === 'WaitForFirstConsumer';
}

/**
 * Creates the prime PVC for `userPvc` unless it exists: same class, size, access modes and volume
 * mode, the selected node copied, no data source, marked created-by its restore. Returns it.
 */
export async function ensurePrimePvc(
  clients: KubeClients,
  userPvc: V1PersistentVolumeClaim,
): Promise<V1PersistentVolumeClaim> {
  const namespace = userPvc.metadata!.namespace!;
  const name = primePvcName(userPvc);
  const existing = await readOptional(() =>
    clients.core.readNamespacedPersistentVolumeClaim({ name, namespace }),
  );
  if (existing) return existing;
  const node = userPvc.metadata?.annotations?.[ANNOTATION_SELECTED_NODE];
  const body: V1PersistentVolumeClaim = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name,
      namespace,
      labels: {
        [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
        [LABEL_COMPONENT]: 'populator',
      },
      annotations: {
        // as core marks a PVC a restore made (the restore is named like the prime PVC): deploy/policy
        // lets the populator create and delete only PVCs so marked
        [ANNOTATION_CREATED_BY]: name,
        [ANNOTATION_PRIME_FOR]: `${namespace}/${userPvc.metadata!.name}/${userPvc.metadata!.uid}`,
        ...(node ? { [ANNOTATION_SELECTED_NODE]: node } : {}),
      },
    },
    spec: {
      accessModes: userPvc.spec?.accessModes,
      resources: { requests: userPvc.spec?.resources?.requests },
      storageClassName: userPvc.spec?.storageClassName,
      volumeMode: userPvc.spec?.volumeMode,
    },
  };
  return callApi(
    { verb: 'create', resource: 'persistentvolumeclaims', namespace, name },
    () =>
      clients.core.createNamespacedPersistentVolumeClaim({ namespace, body }),
  );
}

export async function readPv(
  clients: KubeClients,
  name: string,
): Promise<V1PersistentVolume | undefined> {
  return callApi({ verb: 'get', resource: 'persistentvolumes', name }, () =>
    readOptional(() => clients.core.readPersistentVolume({ name })),
  );
}

async function patchPv(clients: KubeClients, name: string, body: object) {
  return callApi({ verb: 'patch', resource: 'persistentvolumes', name }, () =>
    clients.core.patchPersistentVolume({ name, body }, mergePatch),
  );
}

/**
 * Hands the prime PVC's PV to the user's PVC: first its reclaim policy to Retain (the old one kept in
 * an annotation), so that deleting the prime PVC can never delete the data; then claimRef to the user's
 * PVC with its uid and no resourceVersion. The PV controller then binds the user's PVC to it.
 */
export async function rebindPv(
  clients: KubeClients,
  pvName: string,
  userPvc: V1PersistentVolumeClaim,
  source: string,
): Promise<void> {
  const pv = await readPv(clients, pvName);
  if (!pv) throw new Error(`PV ${pvName} is gone`);
  const ref = pv.spec?.claimRef;
  if (ref?.uid === userPvc.metadata!.uid) return;
  const policy = pv.spec?.persistentVolumeReclaimPolicy ?? 'Delete';
  // the annotation also marks the rebind as not finished yet (restoreReclaimPolicy removes it)
  if (pv.metadata?.annotations?.[ANNOTATION_RECLAIM_POLICY] === undefined) {
    await patchPv(clients, pvName, {
      metadata: { annotations: { [ANNOTATION_RECLAIM_POLICY]: policy } },
      spec: { persistentVolumeReclaimPolicy: 'Retain' },
    });
  }
  const { namespace, name, uid } = userPvc.metadata!;
  await patchPv(clients, pvName, {
    metadata: {
      annotations: { [ANNOTATION_POPULATED_FROM]: `${namespace}/${source}` },
    },
    spec: {
      claimRef: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        namespace,
        name,
        uid,
        resourceVersion: null,
      },
    },
  });
}

/** After the user's PVC is bound: the PV's reclaim policy as it was before the rebind. */
export async function restoreReclaimPolicy(
  clients: KubeClients,
  pvName: string,
): Promise<void> {
  const pv = await readPv(clients, pvName);
  const policy = pv?.metadata?.annotations?.[ANNOTATION_RECLAIM_POLICY];
  if (!pv || !policy) return;
  await patchPv(clients, pvName, {
    metadata: { annotations: { [ANNOTATION_RECLAIM_POLICY]: null } },
    spec: { persistentVolumeReclaimPolicy: policy },
  });
}

/** Deletes a PVC; one that is already gone is fine. */
export async function deletePvcIfPresent(
  clients: KubeClients,
  namespace: string,
  name: string,
): Promise<void> {
  await callApi(
    { verb: 'delete', resource: 'persistentvolumeclaims', namespace, name },
    () =>
      readOptional(() =>
        clients.core.deleteNamespacedPersistentVolumeClaim({ name, namespace }),
      ),
  );
}

/** On a user's PVC the populator cannot serve: why (a namespace that has not opted in). */
export const ANNOTATION_POPULATOR_PROBLEM = 'kube-restore.io/populator-problem';

/**
 * Sets (or, with undefined, removes) ANNOTATION_POPULATOR_PROBLEM on a user's PVC: the one thing the
 * populator writes where a namespace has not opted in (no events there: it has no rights there).
 */
export async function setPopulatorProblem(
  clients: KubeClients,
  pvc: V1PersistentVolumeClaim,
  problem: string | undefined,
): Promise<void> {
  const namespace = pvc.metadata!.namespace!;
  const name = pvc.metadata!.name!;
  await callApi(
    { verb: 'patch', resource: 'persistentvolumeclaims', namespace, name },
    () =>
      clients.core.patchNamespacedPersistentVolumeClaim(
        {
          name,
          namespace,
          body: {
            metadata: {
              annotations: { [ANNOTATION_POPULATOR_PROBLEM]: problem ?? null },
            },
          },
        },
        mergePatch,
      ),
  );
}

/** An event on the user's PVC, as `kubectl describe pvc` shows it. */
export async function recordPvcEvent(
  clients: KubeClients,
  pvc: V1PersistentVolumeClaim,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
): Promise<void> {
  const namespace = pvc.metadata!.namespace!;
  const now = new Date();
  const source: V1EventSource = { component: POPULATOR_COMPONENT };
  await callApi({ verb: 'create', resource: 'events', namespace }, () =>
    clients.core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${pvc.metadata!.name}.`, namespace },
        involvedObject: {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          namespace,
          name: pvc.metadata!.name,
          uid: pvc.metadata!.uid,
          resourceVersion: pvc.metadata!.resourceVersion,
        },
        type,
        reason,
        message: message.slice(0, 1024),
        source,
        reportingComponent: POPULATOR_COMPONENT,
        reportingInstance: POPULATOR_COMPONENT,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    }),
  );
}

export interface RestoreSourceObject {
  metadata: { name: string; namespace: string; uid?: string };
  spec?: unknown;
  status?: { pvcs?: PopulationStatus[] };
}

const crd = {
  group: RESTORE_SOURCE_GROUP,
  version: RESTORE_SOURCE_VERSION,
  plural: RESTORE_SOURCE_PLURAL,
};

export async function getRestoreSource(
  clients: KubeClients,
  namespace: string,
  name: string,
): Promise<RestoreSourceObject | undefined> {
  const api = clients.kc.makeApiClient(CustomObjectsApi);
  return callApi(
    {
      verb: 'get',
      resource: 'restoresources.kube-restore.io',
      namespace,
      name,
    },
    () =>
      readOptional(
        () =>
          api.getNamespacedCustomObject({
            ...crd,
            namespace,
            name,
          }) as Promise<RestoreSourceObject>,
      ),
  );
}

/** Sets the entry of `entry.pvc` in the RestoreSource's status.pvcs (the status subresource). */
export async function setPopulationStatus(
  clients: KubeClients,
  namespace: string,
  name: string,
  entry: PopulationStatus,
): Promise<void> {
  const api = clients.kc.makeApiClient(CustomObjectsApi);
  const current = await getRestoreSource(clients, namespace, name);
  if (!current) return;
  const pvcs = (current.status?.pvcs ?? []).filter(p => p.pvc !== entry.pvc);
  pvcs.push(entry);
  pvcs.sort((a, b) => a.pvc.localeCompare(b.pvc));
  await callApi(
    {
      verb: 'patch',
      resource: 'restoresources.kube-restore.io/status',
      namespace,
      name,
    },
    () =>
      api.patchNamespacedCustomObjectStatus(
        { ...crd, namespace, name, body: { status: { pvcs } } },
        mergePatch,
      ),
  );
}

async function readOptional<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (isNotFound(error) || (error as { code?: number }).code === 404)
      return undefined;
    throw error;
  }
}
