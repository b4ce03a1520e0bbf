import { Entity } from '@backstage/catalog-model';

/** The annotations the restore backend reads to find an entity's namespace (entities.ts there). */
export const ANNOTATION_KUBERNETES_NAMESPACE =
  'backstage.io/kubernetes-namespace';
export const ANNOTATION_KUBERNETES_ID = 'backstage.io/kubernetes-id';
/** Optional: the cluster, else `backstage.io/kubernetes-cluster`, else the backend's default cluster. */
export const ANNOTATION_RESTORE_CLUSTER = 'kube-restore.io/cluster';

/** True when the backend can tell where a restore for this entity goes: it names a namespace. */
export function isRestoreAvailable(entity: Entity): boolean {
  const annotations = entity.metadata.annotations ?? {};
  return Boolean(
    annotations[ANNOTATION_KUBERNETES_NAMESPACE] ||
    annotations[ANNOTATION_KUBERNETES_ID],
  );
}
