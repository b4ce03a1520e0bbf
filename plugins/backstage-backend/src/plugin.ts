import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { readRestoreConfig } from './config';
import { restorePermissions } from '@kube-restore/backstage-plugin-restore-common';
import { ClusterRegistry } from './service/clusters';
import { NamespaceConsentPolicy } from './service/consent';
import { catalogEntityTargets } from './service/entities';
import { backstageNotifier } from './service/notifier';
import { RestoreService } from './service/RestoreService';
import { RestoreStore } from './service/RestoreStore';
import { createRouter } from './service/router';

/** The kube-restore backend plugin (id `restore`): `backend.add(import('@kube-restore/backstage-plugin-restore-backend'))`. */
export const restorePlugin = createBackendPlugin({
  pluginId: 'restore',
  register(env) {
    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        auth: coreServices.auth,
        httpAuth: coreServices.httpAuth,
        httpRouter: coreServices.httpRouter,
        discovery: coreServices.discovery,
        database: coreServices.database,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        auditor: coreServices.auditor,
        userInfo: coreServices.userInfo,
        scheduler: coreServices.scheduler,
      },
      async init({
        config,
        logger,
        auth,
        httpAuth,
        httpRouter,
        discovery,
        database,
        permissions,
        permissionsRegistry,
        auditor,
        userInfo,
        scheduler,
      }) {
        const restoreConfig = readRestoreConfig(config);
        permissionsRegistry.addPermissions(restorePermissions);
        const store = await RestoreStore.create(database);
        const entities = catalogEntityTargets({
          auth,
          discovery,
          clusters: restoreConfig.clusters.map(c => c.name),
          defaultCluster: restoreConfig.defaultCluster,
        });
        const notifier = restoreConfig.notifications.enabled
          ? backstageNotifier({ auth, discovery, logger })
          : undefined;
        const clusters = new ClusterRegistry(restoreConfig);
        const restores = new RestoreService({
          config: restoreConfig,
          clusters,
          consent: new NamespaceConsentPolicy(c => clusters.clientsFor(c)),
          logger,
          permissions,
          auditor,
          userInfo,
          store,
          entities,
          notifier,
        });
        // Records of running restores reach their final phase (and notify) even when nobody watches them.
        await scheduler.scheduleTask({
          id: 'restore-reconcile',
          frequency: { seconds: 30 },
          initialDelay: { seconds: 30 },
          timeout: { minutes: 5 },
          scope: 'global',
          fn: async () => {
            const ended = await restores.reconcile();
            if (ended) logger.info(`${ended} restore(s) ended`);
          },
        });
        httpRouter.use(
          await createRouter({
            httpAuth,
            restores,
            serviceAccess: restoreConfig.serviceAccess,
          }),
        );
        httpRouter.addAuthPolicy({ path: '/health', allow: 'unauthenticated' });
        logger.info(
          `kube-restore: ${restoreConfig.clusters.length} cluster(s), sources ${restoreConfig.sources.map(s => s.name).join(', ')}`,
        );
      },
    });
  },
});
