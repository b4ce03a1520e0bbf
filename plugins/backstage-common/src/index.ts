/**
 * @kube-restore/backstage-plugin-restore-common: what the restore plugin's frontend and backend share,
 * the permissions and the HTTP API's types. Isomorphic: safe to import in the browser.
 */
export * from './permissions';
export * from './api';
