/**
 * What a real Backstage backend would bring, reduced to the behaviour the restore plugin relies on:
 * a catalog (served over HTTP as the catalog plugin does), a permission policy "owners may restore,
 * members of group:default/sre may approve" (services allowed everything, as the real framework does), user ownership info, a recording logger and auditor.
 */
import {
  AuditorService,
  BackstageCredentials,
  LoggerService,
  coreServices,
  createBackendPlugin,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { mockServices } from '@backstage/backend-test-utils';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import express from 'express';
import Router from 'express-promise-router';
import Knex from 'knex';

export const ALICE = 'user:default/alice'; // team-a: owns component:default/shop
export const BOB = 'user:default/bob'; // team-b: owns nothing here
export const CAROL = 'user:default/carol'; // sre: may approve
export const DAVE = 'user:default/dave'; // team-a and sre: may restore and approve

export const MEMBERSHIP: Record<string, string[]> = {
  [ALICE]: [ALICE, 'group:default/team-a'],
  [BOB]: [BOB, 'group:default/team-b'],
  [CAROL]: [CAROL, 'group:default/sre'],
  [DAVE]: [DAVE, 'group:default/team-a', 'group:default/sre'],
};

export function component(
  name: string,
  owner: string,
  namespace: string,
  extra: Record<string, string> = {},
): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name,
      namespace: 'default',
      annotations: { 'backstage.io/kubernetes-namespace': namespace, ...extra },
    },
    spec: { type: 'service', owner, lifecycle: 'production' },
  };
}

/** A stand-in for the catalog plugin: GET /entities/by-name/:kind/:namespace/:name, as CatalogClient calls it. */
export function fakeCatalogPlugin(entities: Entity[]) {
  return createBackendPlugin({
    pluginId: 'catalog',
    register(env) {
      env.registerInit({
        deps: { httpRouter: coreServices.httpRouter },
        async init({ httpRouter }) {
          const router = Router();
          router.get('/entities/by-name/:kind/:namespace/:name', (req, res) => {
            const { kind, namespace, name } = req.params;
            const entity = entities.find(
              e =>
                e.kind.toLowerCase() === kind.toLowerCase() &&
                (e.metadata.namespace ?? 'default') === namespace &&
                e.metadata.name === name,
            );
            if (!entity) {
              res.status(404).json({
                error: { name: 'NotFoundError', message: 'no such entity' },
              });
              return;
            }
            res.json(entity);
          });
          httpRouter.use(router);
        },
      });
    },
  });
}

function userRef(credentials: BackstageCredentials): string | undefined {
  const p = credentials.principal as { type: string; userEntityRef?: string };
  return p.type === 'user' ? p.userEntityRef : undefined;
}

/** The policy a Backstage operator writes with isEntityOwner, evaluated here the way the catalog would. */
export function ownerPolicyPermissions(entities: Entity[]) {
  return createServiceFactory({
    service: coreServices.permissions,
    deps: {},
    factory: () => ({
      async authorize(
        requests: any[],
        options: { credentials: BackstageCredentials },
      ) {
        // As Backstage's permission framework does: a service principal without access restrictions is
        // allowed everything and the policy is never asked (the plugin scopes services itself, access.ts).
        if (
          (options.credentials.principal as { type: string }).type === 'service'
        )
          return requests.map(() => ({ result: AuthorizeResult.ALLOW }));
        const user = userRef(options.credentials);
        const claims = user ? (MEMBERSHIP[user] ?? [user]) : [];
        return requests.map(request => {
          const name: string = request.permission.name;
          if (name === 'restore.approve') {
            return {
              result: claims.includes('group:default/sre')
                ? AuthorizeResult.ALLOW
                : AuthorizeResult.DENY,
            };
          }
          const entity = entities.find(
            e => stringifyEntityRef(e) === request.resourceRef,
          );
          const owner = (entity?.spec as { owner?: string } | undefined)?.owner;
          const ownerRef =
            owner && !owner.includes(':') ? `group:default/${owner}` : owner;
          return {
            result:
              ownerRef && claims.includes(ownerRef)
                ? AuthorizeResult.ALLOW
                : AuthorizeResult.DENY,
          };
        });
      },
      async authorizeConditional(requests: any[]) {
        return requests.map(() => ({ result: AuthorizeResult.DENY }));
      },
    }),
  });
}

export const userInfoFactory = createServiceFactory({
  service: coreServices.userInfo,
  deps: {},
  factory: () => ({
    async getUserInfo(credentials: BackstageCredentials) {
      const user = userRef(credentials)!;
      return {
        userEntityRef: user,
        ownershipEntityRefs: MEMBERSHIP[user] ?? [user],
      };
    },
  }),
});

/** Everything the plugin logs, as text, to search for secrets. */
export function recordingLogger() {
  const lines: string[] = [];
  const make = (fields: object = {}): LoggerService => {
    const log = (level: string) => (message: string, meta?: Error | object) => {
      lines.push(
        `${level} ${message} ${JSON.stringify(fields)} ${meta instanceof Error ? `${meta.message} ${meta.stack}` : JSON.stringify(meta ?? {})}`,
      );
    };
    return {
      error: log('error'),
      warn: log('warn'),
      info: log('info'),
      debug: log('debug'),
      child: f => make({ ...fields, ...f }),
    };
  };
  return {
    lines,
    factory: createServiceFactory({
      service: coreServices.logger,
      deps: {},
      factory: () => make(),
    }),
  };
}

export interface AuditRecord {
  eventId: string;
  meta?: object;
  outcome?: 'success' | 'fail';
  outcomeMeta?: object;
  error?: string;
}

export function recordingAuditor() {
  const events: AuditRecord[] = [];
  const auditor: AuditorService = {
    async createEvent(options) {
      const record: AuditRecord = {
        eventId: options.eventId,
        meta: options.meta,
      };
      events.push(record);
      return {
        async success(o) {
          record.outcome = 'success';
          record.outcomeMeta = o?.meta;
        },
        async fail(o) {
          record.outcome = 'fail';
          record.error = o.error.message;
        },
      };
    },
  };
  return {
    events,
    // The restore plugin's events only: other plugins (the real catalog in router.cluster.test.ts) audit too.
    factory: createServiceFactory({
      service: coreServices.auditor,
      deps: { plugin: coreServices.pluginMetadata },
      factory: ({ plugin }): AuditorService =>
        plugin.getId() === 'restore'
          ? auditor
          : {
              async createEvent() {
                return { async success() {}, async fail() {} };
              },
            },
    }),
  };
}

/**
 * A SQLite database for one test backend: in memory, or in a file so that a second backend can open
 * the same history. Destroy it after `backend.stop()`: Backstage's own database service never destroys
 * SQLite connections on shutdown, and the pool's reaper interval (tarn) then keeps the jest worker alive
 * ("A worker process has failed to exit gracefully").
 */
export function sqliteFile(filename = ':memory:') {
  const knex = Knex({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
  });
  return { knex, factory: mockServices.database.factory({ knex }) };
}

/** A stand-in for the notifications backend: records what is POSTed to its base URL. */
export function fakeNotificationsPlugin() {
  const received: {
    recipients: { type: string; entityRef: string[] };
    payload: { title: string; description: string; severity: string };
  }[] = [];
  const plugin = createBackendPlugin({
    pluginId: 'notifications',
    register(env) {
      env.registerInit({
        deps: { httpRouter: coreServices.httpRouter },
        async init({ httpRouter }) {
          const router = Router();
          router.use(express.json());
          router.post('/', (req, res) => {
            received.push(req.body);
            res.json({});
          });
          httpRouter.use(router);
        },
      });
    },
  });
  return { plugin, received };
}
