/**
 * Namespace consent: Backstage restores into a namespace only for the catalog owners that namespace names.
 *
 * The list lives in annotation `kube-restore.io/backstage-owners` of the opt-in RoleBinding
 * `kube-restore-operator` (deploy/rbac/opt-in), which namespace admins create and edit and entity authors
 * cannot. It is read with the backend's own cluster identity, every time (no cache: withdrawing consent
 * takes effect at once). The entity's annotation only says where a restore would go; this says whether it
 * may. One message for "not opted in" and "opted in, but not for you", so a refusal reveals nothing about
 * the namespace.
 */
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { NotAllowedError } from '@backstage/errors';
import {
  ANNOTATION_BACKSTAGE_OWNERS,
  OPT_IN_ROLEBINDING,
} from '@kube-restore/common';
import {
  KubeClients,
  NamespaceConsent,
  readNamespaceConsent,
} from '@kube-restore/core';
import { toBackstageError } from '../errors';

/** What consent is asked for: a restore for an entity with this owner, into this namespace of this cluster. */
export interface ConsentQuestion {
  cluster: string;
  namespace: string;
  entityRef: string;
  /** The entity's `spec.owner` as a full ref; an entity without one never has consent. */
  ownerRef?: string;
}

/** `group:default/team-a`; a bare name is a group in `default`, as in catalog `spec.owner`. Case-insensitive. */
export function normalizeOwnerRef(entry: string): string | undefined {
  try {
    return stringifyEntityRef(
      parseEntityRef(entry, {
        defaultKind: 'group',
        defaultNamespace: 'default',
      }),
    ).toLocaleLowerCase('en-US');
  } catch {
    return undefined;
  }
}

/** Whether `consent` lets restores for `ownerRef` in. Pure: the rule in one place. */
export function consents(
  consent: NamespaceConsent,
  ownerRef: string | undefined,
): boolean {
  if (!consent.optedIn || !ownerRef) return false;
  const owner = normalizeOwnerRef(ownerRef);
  return (
    owner !== undefined &&
    consent.owners.some(entry => normalizeOwnerRef(entry) === owner)
  );
}

/** The 403 message: what a namespace admin must do. */
export function refusal(question: ConsentQuestion): string {
  const { namespace, cluster, ownerRef, entityRef } = question;
  const who = ownerRef ?? `the owner of ${entityRef} (it has no spec.owner)`;
  return (
    `namespace ${namespace} on cluster ${cluster} does not allow Backstage restores for ${who}: ` +
    `a namespace admin of ${namespace} opts in (kubectl apply -k deploy/rbac/opt-in -n ${namespace}) and lists the owner in ` +
    `annotation ${ANNOTATION_BACKSTAGE_OWNERS} of RoleBinding ${OPT_IN_ROLEBINDING} ` +
    `(kubectl -n ${namespace} annotate rolebinding ${OPT_IN_ROLEBINDING} --overwrite ${ANNOTATION_BACKSTAGE_OWNERS}=${ownerRef ?? 'group:default/TEAM'}, comma-separated with owners already there)`
  );
}

export class NamespaceConsentPolicy {
  constructor(private readonly clientsFor: (cluster: string) => KubeClients) {}

  /** Throws NotAllowedError (403) unless the namespace consents; fails closed when it cannot be read. */
  async require(question: ConsentQuestion): Promise<void> {
    let consent: NamespaceConsent;
    try {
      consent = await readNamespaceConsent(
        this.clientsFor(question.cluster),
        question.namespace,
      );
    } catch (error) {
      throw toBackstageError(error);
    }
    if (!consents(consent, question.ownerRef))
      throw new NotAllowedError(refusal(question));
  }
}
