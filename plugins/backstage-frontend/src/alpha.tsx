/**
 * The restore plugin for apps on the new frontend system:
 * `createApp({ features: [import('@kube-restore/backstage-plugin-restore/alpha')] })`, or auto-discovery.
 */
import {
  ApiBlueprint,
  PageBlueprint,
  createFrontendPlugin,
  createRouteRef,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/frontend-plugin-api';
import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { RestoreClient, restoreApiRef } from './api';
import { isRestoreAvailable } from './isRestoreAvailable';

/** The restores page of the new frontend system. */
export const restorePageRouteRef = createRouteRef();

export const restoreApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: restoreApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new RestoreClient({ discoveryApi, fetchApi }),
    }),
});

export const restoreEntityContent = EntityContentBlueprint.make({
  params: {
    path: 'restore',
    title: 'Restore',
    filter: isRestoreAvailable,
    loader: () =>
      import('./components/EntityRestoreContent').then(m => (
        <m.EntityRestoreContent />
      )),
  },
});

export const restorePage = PageBlueprint.make({
  params: {
    path: '/restore',
    title: 'Restores',
    routeRef: restorePageRouteRef,
    loader: () =>
      import('./components/RestorePage').then(m => (
        <m.RestorePage header={false} />
      )),
  },
});

export default createFrontendPlugin({
  pluginId: 'restore',
  info: { packageJson: () => import('../package.json') },
  routes: { root: restorePageRouteRef },
  extensions: [restoreApi, restoreEntityContent, restorePage],
});
