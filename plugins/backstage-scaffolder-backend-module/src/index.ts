/**
 * Backstage scaffolder actions for kube-restore: `kube-restore:create` starts a restore and
 * `kube-restore:wait` follows it to its end, both for the user running the template.
 */
export { scaffolderModuleRestore as default } from './module';
export { createRestoreAction, CREATE_ACTION_ID } from './actions/create';
export { waitRestoreAction, WAIT_ACTION_ID } from './actions/wait';
export { RestoreBackendClient, RestoreBackendError } from './client';
export type { RestoreBody } from './client';
