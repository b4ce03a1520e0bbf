import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { readRestoreConfig } from './config';
import { restorePermissions } from '@kube-restore/backstage-plugin-restore-common';
import { ClusterRegistry } from './service/clusters';
import { NamespaceConsentPolicy } from './service/consent';
import { catalogEntityTargets } from './service/entities';
import { RestoreAccess } from './service/access';
import { ApprovalService } from './service/approvals';
import { existsDecision } from './service/exists';
import { RestorePlanner } from './service/planner';
import { backstageNotifier, noNotifications } from './service/notifier';
import { RestorePolicy } from './service/policy';
import { RestoreReads } from './service/reads';
import { RestoreRecorder } from './service/recorder';
import { RestoreService } from './service/RestoreService';
import { RestoreStore } from './service/RestoreStore';
import { createRouter } from './service/router';
import { pvcPlumberRouter } from './service/pvcPlumber';

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
        lifecycle: coreServices.lifecycle,
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
        lifecycle,
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
        // plugin.ts composes; the services decide (service/*), the router translates.
        const clusters = new ClusterRegistry(restoreConfig);
        const access = new RestoreAccess(
          permissions,
          store,
          restoreConfig.serviceAccess,
        );
        const consent = new NamespaceConsentPolicy(c => clusters.clientsFor(c));
        const policy = new RestorePolicy(restoreConfig, userInfo);
        const recorder = new RestoreRecorder({
          store,
          clusters,
          notifier: notifier ?? noNotifications,
          logger,
        });
        lifecycle.addShutdownHook(() => recorder.stop());
        const restores = new RestoreService({
          config: restoreConfig,
          logger,
          auditor,
          store,
          entities,
          clusters,
          access,
          consent,
          policy,
          recorder,
        });
        const planner = new RestorePlanner({
          config: restoreConfig,
          entities,
          access,
          consent,
          clusters,
          policy,
          store,
        });
        const reads = new RestoreReads({ access, store, clusters, logger });
        const approvals = new ApprovalService({
          access,
          consent,
          policy,
          store,
          auditor,
          recorder,
          start: record => restores.start(record),
        });
        // Records of running restores reach their final phase (and notify) even when nobody watches them.
        await scheduler.scheduleTask({
          id: 'restore-reconcile',
          frequency: { seconds: 30 },
          initialDelay: { seconds: 30 },
          timeout: { minutes: 5 },
          scope: 'global',
          fn: async () => {
            const ended = await recorder.reconcile();
            if (ended) logger.info(`${ended} restore(s) ended`);
          },
        });
        const exists = (namespace: string, pvc: string) =>
          existsDecision(restoreConfig, clusters, namespace, pvc);
        httpRouter.use(
          await createRouter({
            httpAuth,
            restores,
            planner,
            reads,
            approvals,
            exists,
            serviceAccess: restoreConfig.serviceAccess,
          }),
        );
        // pvc-plumber's contract (fail-open, {exists, keyCount}) for policies written for it.
        httpRouter.use(pvcPlumberRouter({ httpAuth, exists }));
        httpRouter.addAuthPolicy({ path: '/health', allow: 'unauthenticated' });
        logger.info(
          `kube-restore: ${restoreConfig.clusters.length} cluster(s), sources ${restoreConfig.sources.map(s => s.name).join(', ')}`,
        );
        for (const { subject, owners } of restoreConfig.serviceAccess.write)
          logger.info(
            `kube-restore: service ${subject} may create and delete restores for entities owned by ${owners.join(', ')} (never approve or reject)`,
          );
      },
    });
  },
});
