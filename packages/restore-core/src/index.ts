/**
 * @kube-restore/core: plan, apply and observe restores. The only package that talks to the
 * Kubernetes API.
 */
export * from './version';
export * from './errors';
export * from './kubeconfig';
export * from './clients';
export * from './manifestError';
export * from './inlineCredentials';
export * from './manifests';
export * from './status';
export * from './restores';
export {
  getRestore,
  listRestores,
  restoreEvents,
  restoreLogs,
  type ListRestoresOptions,
} from './readRestores';
export * from './access';
export { readPvc } from './targetPvc';
export * from './watch';
export * from './s3';
export * from './deadline';
export * from './logs';
export * from './requestTimeout';
export * from './plan';
export * from './clusterConfig';
export * from './prefixes';
export * from './consent';
export * from './interrupted';
export * from './writers';
export * from './populator';
export * from './populatorManifests';
export * from './populatorRestores';
export * from './shardBounds';
export * from './credentialExpiry';
