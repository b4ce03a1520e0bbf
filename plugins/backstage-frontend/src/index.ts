/**
 * @kube-restore/backstage-plugin-restore: restore data into a service's volumes from its catalog page.
 * The legacy frontend system is served here; the new frontend system at `@kube-restore/backstage-plugin-restore/alpha`.
 */
export { restorePlugin, RestorePage, EntityRestoreContent } from './plugin';
export { isRestoreAvailable } from './isRestoreAvailable';
export { rootRouteRef } from './routes';
export * from './api';
export * from '@kube-restore/backstage-plugin-restore-common';
