/**
 * A namespace's consent to restores made on behalf of others (the Backstage backend acting as the operator):
 * the annotation `kube-restore.io/backstage-owners` on the opt-in RoleBinding `kube-restore-operator`.
 * The RoleBinding is what a namespace admin applies with deploy/rbac/opt-in; the operator may read that one
 * object (resourceNames in its ClusterRole) and only through that binding, so without the opt-in there is
 * nothing to read. Who the listed owners are is the caller's business (core knows nothing of catalogs).
 */
import {
  ANNOTATION_BACKSTAGE_OWNERS,
  OPT_IN_ROLEBINDING,
} from '@kube-restore/common';
import { KubeClients } from './clients';
import { RestoreError, callApi } from './errors';

export interface NamespaceConsent {
  namespace: string;
  /** Whether the namespace has the opt-in RoleBinding (false also when the operator may not read it). */
  optedIn: boolean;
  /** The annotation's entries, trimmed, in order; empty when the annotation is absent or blank. */
  owners: string[];
}

/** Splits the annotation's value: comma-separated, blanks ignored. */
export function parseOwnersAnnotation(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map(entry => entry.trim())
    .filter(entry => entry !== '');
}

/**
 * Reads the consent of `namespace`. NotFound and Forbidden both mean "not opted in": the operator can read
 * the RoleBinding only through the rights that RoleBinding grants. Other failures (unreachable cluster, 401)
 * are thrown, so callers fail closed.
 */
export async function readNamespaceConsent(
  clients: KubeClients,
  namespace: string,
): Promise<NamespaceConsent> {
  try {
    const binding = await callApi(
      {
        verb: 'get',
        resource: 'rolebindings.rbac.authorization.k8s.io',
        namespace,
        name: OPT_IN_ROLEBINDING,
      },
      () =>
        clients.rbac.readNamespacedRoleBinding({
          name: OPT_IN_ROLEBINDING,
          namespace,
        }),
    );
    return {
      namespace,
      optedIn: true,
      owners: parseOwnersAnnotation(
        binding.metadata?.annotations?.[ANNOTATION_BACKSTAGE_OWNERS],
      ),
    };
  } catch (error) {
    if (
      error instanceof RestoreError &&
      (error.kind === 'NotFound' || error.kind === 'Forbidden')
    )
      return { namespace, optedIn: false, owners: [] };
    throw error;
  }
}
