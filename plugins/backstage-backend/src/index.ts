/**
 * @kube-restore/backstage-plugin-restore-backend: self-service restores of PVCs from S3, with permissions,
 * approvals, audit and history.
 */
export { restorePlugin as default } from './plugin';
// Permissions and API types live in @kube-restore/backstage-plugin-restore-common; re-exported for
// policies written against this package.
export * from '@kube-restore/backstage-plugin-restore-common';
