import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { createRestoreAction } from './actions/create';
import { waitRestoreAction } from './actions/wait';
import { RestoreBackendClient } from './client';

/**
 * The scaffolder module (`backend.add(import('@kube-restore/backstage-plugin-scaffolder-backend-module-restore'))`):
 * adds kube-restore:create and kube-restore:wait. They call the restore backend plugin of the same Backstage
 * for the task's user; it must be installed too.
 */
export const scaffolderModuleRestore = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'kube-restore',
  register(env) {
    env.registerInit({
      deps: {
        scaffolder: scaffolderActionsExtensionPoint,
        auth: coreServices.auth,
        discovery: coreServices.discovery,
      },
      async init({ scaffolder, auth, discovery }) {
        const client = new RestoreBackendClient({ auth, discovery });
        scaffolder.addActions(
          createRestoreAction({ client }),
          waitRestoreAction({ client }),
        );
      },
    });
  },
});
