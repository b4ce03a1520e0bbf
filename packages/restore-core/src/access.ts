/**
 * What a restore needs this identity to be allowed, checked with SelfSubjectAccessReviews before
 * anything is created (plan, preflight).
 */
import { RestoreRequest, type AccessCheck } from '@kube-restore/common';
import { KubeClients } from './clients';
import { callApi } from './errors';

export type { AccessCheck } from '@kube-restore/common';

/** What `createRestore` (and status, logs and delete) need, checked with SelfSubjectAccessReview. */
export function requiredAccess(
  request: RestoreRequest,
  options: { withSecret?: boolean } = {},
) {
  const needs: Omit<AccessCheck, 'allowed' | 'namespace'>[] = [
    { verb: 'create', resource: 'jobs', group: 'batch' },
    { verb: 'get', resource: 'jobs', group: 'batch' },
    { verb: 'list', resource: 'pods', group: '' },
    { verb: 'get', resource: 'pods', group: '', subresource: 'log' },
    { verb: 'get', resource: 'persistentvolumeclaims', group: '' },
    // The PVC's Lease (pvcLease.ts): one writer per volume.
    { verb: 'get', resource: 'leases', group: 'coordination.k8s.io' },
    { verb: 'create', resource: 'leases', group: 'coordination.k8s.io' },
    { verb: 'update', resource: 'leases', group: 'coordination.k8s.io' },
  ];
  if (request.target.mode === 'new')
    needs.push({
      verb: 'create',
      resource: 'persistentvolumeclaims',
      group: '',
    });
  if (options.withSecret) {
    needs.push(
      { verb: 'create', resource: 'secrets', group: '' },
      { verb: 'patch', resource: 'jobs', group: 'batch' },
    );
  }
  return needs;
}

export async function checkAccess(
  clients: KubeClients,
  request: RestoreRequest,
  options: { withSecret?: boolean } = {},
): Promise<AccessCheck[]> {
  const namespace = request.target.namespace;
  return Promise.all(
    requiredAccess(request, options).map(async need => {
      const review = await callApi(
        {
          verb: 'create',
          resource: 'selfsubjectaccessreviews.authorization.k8s.io',
        },
        () =>
          clients.authz.createSelfSubjectAccessReview({
            body: {
              apiVersion: 'authorization.k8s.io/v1',
              kind: 'SelfSubjectAccessReview',
              spec: { resourceAttributes: { namespace, ...need } },
            },
          }),
      );
      return {
        ...need,
        namespace,
        allowed: review.status?.allowed ?? false,
        reason: review.status?.reason,
      };
    }),
  );
}
