/**
 * Where a restore for an entity goes: namespace and cluster from the entity's annotations, read from the
 * catalog on behalf of the user (so catalog permissions apply). Users never type a namespace.
 */
import {
  AuthService,
  BackstageCredentials,
  DiscoveryService,
} from '@backstage/backend-plugin-api';
import { CatalogClient } from '@backstage/catalog-client';
import {
  Entity,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { InputError, NotFoundError } from '@backstage/errors';
import { dns1123LabelProblem } from '@kube-restore/common';

export const ANNOTATION_KUBERNETES_NAMESPACE =
  'backstage.io/kubernetes-namespace';
export const ANNOTATION_KUBERNETES_ID = 'backstage.io/kubernetes-id';
export const ANNOTATION_KUBERNETES_CLUSTER = 'backstage.io/kubernetes-cluster';
export const ANNOTATION_RESTORE_CLUSTER = 'kube-restore.io/cluster';

export interface EntityTarget {
  entityRef: string;
  entity: Entity;
  namespace: string;
  cluster: string;
  /** spec.owner as a full ref, for per-owner quotas. */
  ownerRef?: string;
}

export interface EntityTargets {
  resolve(
    entityRef: string,
    credentials: BackstageCredentials,
  ): Promise<EntityTarget>;
}

export function targetOfEntity(
  entity: Entity,
  clusters: string[],
  defaultCluster?: string,
): EntityTarget {
  const entityRef = stringifyEntityRef(entity);
  const annotations = entity.metadata.annotations ?? {};
  const namespace =
    annotations[ANNOTATION_KUBERNETES_NAMESPACE] ??
    annotations[ANNOTATION_KUBERNETES_ID];
  if (!namespace) {
    throw new InputError(
      `entity ${entityRef} has no ${ANNOTATION_KUBERNETES_NAMESPACE} annotation: its owners add it to say which namespace it runs in`,
    );
  }
  const problem = dns1123LabelProblem(namespace);
  if (problem) {
    throw new InputError(
      `entity ${entityRef}: annotation ${ANNOTATION_KUBERNETES_NAMESPACE} "${namespace}" is not a namespace name: it ${problem}`,
    );
  }
  const named =
    annotations[ANNOTATION_RESTORE_CLUSTER] ??
    annotations[ANNOTATION_KUBERNETES_CLUSTER];
  const cluster =
    named ??
    defaultCluster ??
    (clusters.length === 1 ? clusters[0] : undefined);
  if (!cluster) {
    throw new InputError(
      `entity ${entityRef} names no cluster (annotation ${ANNOTATION_RESTORE_CLUSTER}) and kubeRestore.defaultCluster is not set`,
    );
  }
  if (!clusters.includes(cluster)) {
    throw new InputError(
      `entity ${entityRef} names cluster "${cluster}", which is not configured (${clusters.join(', ')})`,
    );
  }
  const owner = (entity.spec as { owner?: unknown } | undefined)?.owner;
  const ownerRef =
    typeof owner === 'string'
      ? stringifyEntityRef(
          parseEntityRef(owner, {
            defaultKind: 'group',
            defaultNamespace: entity.metadata.namespace ?? 'default',
          }),
        )
      : undefined;
  return { entityRef, entity, namespace, cluster, ownerRef };
}

export function catalogEntityTargets(options: {
  auth: AuthService;
  discovery: DiscoveryService;
  clusters: string[];
  defaultCluster?: string;
}): EntityTargets {
  const catalog = new CatalogClient({ discoveryApi: options.discovery });
  return {
    async resolve(entityRef, credentials) {
      let ref: string;
      try {
        ref = stringifyEntityRef(parseEntityRef(entityRef));
      } catch (error) {
        throw new InputError(`entityRef: ${(error as Error).message}`);
      }
      const { token } = await options.auth.getPluginRequestToken({
        onBehalfOf: credentials,
        targetPluginId: 'catalog',
      });
      const entity = await catalog.getEntityByRef(ref, { token });
      if (!entity)
        throw new NotFoundError(`entity ${ref} not found in the catalog`);
      return targetOfEntity(entity, options.clusters, options.defaultCluster);
    },
  };
}
