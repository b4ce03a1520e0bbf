import {
  createApiFactory,
  createComponentExtension,
  createPlugin,
  createRoutableExtension,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/core-plugin-api';
import { RestoreClient, restoreApiRef } from './api';
import { rootRouteRef } from './routes';

/** The restore plugin for apps on the legacy frontend system (`createApp`); new apps use `./alpha`. */
export const restorePlugin = createPlugin({
  id: 'restore',
  apis: [
    createApiFactory({
      api: restoreApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new RestoreClient({ discoveryApi, fetchApi }),
    }),
  ],
  routes: { root: rootRouteRef },
});

/** All restores the user may read, and the approvals waiting for them: mount at `/restore`. */
export const RestorePage = restorePlugin.provide(
  createRoutableExtension({
    name: 'RestorePage',
    component: () =>
      import('./components/RestorePage').then(m => m.RestorePage),
    mountPoint: rootRouteRef,
  }),
);

/** The entity tab: the entity's restores, live, and the "Restore data" dialog. */
export const EntityRestoreContent = restorePlugin.provide(
  createComponentExtension({
    name: 'EntityRestoreContent',
    component: {
      lazy: () =>
        import('./components/EntityRestoreContent').then(
          m => m.EntityRestoreContent,
        ),
    },
  }),
);
