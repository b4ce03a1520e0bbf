/**
 * The Backstage parts the restore plugin relies on, real: the catalog backend reading its entities (users,
 * groups with memberships, components) from a file location, the permission backend with the example
 * portal's owners policy (examples/portal/backend/src/ownersRestorePolicy.ts, the one definition), the
 * notifications backend, and the permissions and permissions-registry services of backend-defaults.
 * Each plugin gets its own SQLite database; the restore plugin's is the one handed in.
 *
 * Tokens are the test backend's mock tokens, with one correction (actorAuth): a user's request that a plugin
 * forwards carries that plugin as actor, as with DefaultAuthService, so that the permission backend may ask
 * the catalog to apply conditions on the user's behalf (backend-defaults' permissions registry refuses users
 * without an actor there, and the mock tokens drop it).
 *
 * One stand-in is left, for the user's ownership claims: in a real backend they travel in the user's token,
 * put there at sign-in by the auth backend's default resolver (the User entity and the groups of its memberOf
 * relations, read from the catalog), and coreServices.userInfo reads them back. The test backend's user
 * tokens carry no claims, so userInfoFromCatalog resolves them the way sign-in does, from the real catalog.
 */
import { permissionsServiceFactory } from '@backstage/backend-defaults/permissions';
import { permissionsRegistryServiceFactory } from '@backstage/backend-defaults/permissionsRegistry';
import {
  AuthService,
  BackstageCredentials,
  BackstageUserPrincipal,
  HttpAuthService,
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import {
  RELATION_MEMBER_OF,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import notificationsPlugin from '@backstage/plugin-notifications-backend';
import permissionPlugin from '@backstage/plugin-permission-backend';
import { CatalogClient } from '@backstage/catalog-client';
import { JsonObject } from '@backstage/types';
import Knex from 'knex';
import { Server } from 'node:http';
import path from 'node:path';
import request from 'supertest';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports -- the portal's policy, not a copy of it
import { ownersRestorePolicyModule } from '../../../../examples/portal/backend/src/ownersRestorePolicy';

const SERVICE_TOKEN = 'mock-service-token:';

/** Mock auth whose plugin-to-plugin tokens on behalf of a user name the calling plugin as actor. */
const actorAuth = [
  createServiceFactory({
    service: coreServices.auth,
    deps: { plugin: coreServices.pluginMetadata },
    factory: ({ plugin }): AuthService => {
      const inner = mockServices.auth({ pluginId: plugin.getId() });
      return {
        authenticate: (token, options) => inner.authenticate(token, options),
        isPrincipal: inner.isPrincipal.bind(
          inner,
        ) as AuthService['isPrincipal'],
        getNoneCredentials: () => inner.getNoneCredentials(),
        getOwnServiceCredentials: () => inner.getOwnServiceCredentials(),
        getLimitedUserToken: c => inner.getLimitedUserToken(c),
        listPublicServiceKeys: () => inner.listPublicServiceKeys(),
        async getPluginRequestToken(options) {
          const { token } = await inner.getPluginRequestToken(options);
          if (
            !inner.isPrincipal(options.onBehalfOf, 'user') ||
            !token.startsWith(SERVICE_TOKEN)
          )
            return { token };
          const claims = JSON.parse(token.slice(SERVICE_TOKEN.length));
          return {
            token: `${SERVICE_TOKEN}${JSON.stringify({ ...claims, actor: `plugin:${plugin.getId()}` })}`,
          };
        },
      };
    },
  }),
  createServiceFactory({
    service: coreServices.httpAuth,
    deps: { plugin: coreServices.pluginMetadata },
    factory: ({ plugin }): HttpAuthService => {
      const inner = mockServices.httpAuth({ pluginId: plugin.getId() });
      return {
        async credentials(req, options) {
          const credentials = await inner.credentials(req, options);
          const token = /^Bearer (.+)$/i.exec(
            req.headers.authorization ?? '',
          )?.[1];
          const principal = credentials.principal as { type: string };
          if (principal.type === 'user' && token?.startsWith(SERVICE_TOKEN)) {
            const { actor } = JSON.parse(token.slice(SERVICE_TOKEN.length));
            if (actor)
              return mockCredentials.user(
                (principal as BackstageUserPrincipal).userEntityRef,
                { actor: { subject: actor } },
              ) as typeof credentials;
          }
          return credentials;
        },
        issueUserCookie: (res, options) => inner.issueUserCookie(res, options),
      };
    },
  }),
];

/** Ownership claims as the auth backend's default sign-in resolver computes them from the User entity. */
export const userInfoFromCatalog = createServiceFactory({
  service: coreServices.userInfo,
  deps: { discovery: coreServices.discovery, auth: coreServices.auth },
  factory: ({ discovery, auth }) => ({
    async getUserInfo(credentials: BackstageCredentials) {
      const principal = credentials.principal as {
        type: string;
        userEntityRef?: string;
      };
      if (principal.type !== 'user' || !principal.userEntityRef)
        throw new TypeError('userInfo needs user credentials');
      const { token } = await auth.getPluginRequestToken({
        onBehalfOf: await auth.getOwnServiceCredentials(),
        targetPluginId: 'catalog',
      });
      const user = await new CatalogClient({
        discoveryApi: discovery,
      }).getEntityByRef(principal.userEntityRef, { token });
      if (!user)
        throw new Error(`${principal.userEntityRef} is not in the catalog`);
      return {
        userEntityRef: principal.userEntityRef,
        ownershipEntityRefs: [
          ...new Set([
            stringifyEntityRef(user),
            ...(user.relations ?? [])
              .filter(
                r =>
                  r.type === RELATION_MEMBER_OF &&
                  r.targetRef.startsWith('group:'),
              )
              .map(r => r.targetRef),
          ]),
        ],
      };
    },
  }),
});

/** An in-memory SQLite database per plugin, `restore` getting `restoreKnex`; destroy() closes them all. */
function sqlitePerPlugin(restoreKnex: Knex.Knex) {
  const others = new Map<string, Knex.Knex>();
  const knexFor = (pluginId: string) => {
    if (pluginId === 'restore') return restoreKnex;
    if (!others.has(pluginId))
      others.set(
        pluginId,
        Knex({
          client: 'better-sqlite3',
          connection: { filename: ':memory:' },
          useNullAsDefault: true,
        }),
      );
    return others.get(pluginId)!;
  };
  return {
    factory: createServiceFactory({
      service: coreServices.database,
      deps: { plugin: coreServices.pluginMetadata },
      factory: ({ plugin }) =>
        mockServices.database({ knex: knexFor(plugin.getId()) }),
    }),
    destroy: () => Promise.all([...others.values()].map(k => k.destroy())),
  };
}

/**
 * Features and config for startTestBackend: the real catalog (entities from `catalogFiles`), permission
 * backend with the portal's policy, and notifications backend. `config` goes into the backend's root config
 * beside kubeRestore; call `ready` before the first request and `destroy` after `backend.stop()`.
 */
export function realBackstage(options: {
  catalogFiles: string[];
  restoreKnex: Knex.Knex;
}) {
  const databases = sqlitePerPlugin(options.restoreKnex);
  const config: JsonObject = {
    app: { baseUrl: 'http://127.0.0.1:3000' }, // the notifications backend builds links with it; never contacted
    permission: { enabled: true },
    catalog: {
      rules: [{ allow: ['Component', 'User', 'Group', 'Location'] }],
      locations: options.catalogFiles.map(target => ({ type: 'file', target })),
      processingInterval: { seconds: 1 },
    },
  };
  return {
    config,
    features: [
      catalogPlugin,
      permissionPlugin,
      ownersRestorePolicyModule,
      notificationsPlugin,
      permissionsServiceFactory,
      permissionsRegistryServiceFactory,
      userInfoFromCatalog,
      ...actorAuth,
      databases.factory,
    ],
    destroy: databases.destroy,
  };
}

/** Waits until the catalog has processed `refs`, with their relations (memberships) stitched. */
export async function catalogReady(server: Server, refs: string[]) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const missing: string[] = [];
    for (const ref of refs) {
      const { kind, namespace, name } = parseEntityRef(ref);
      const res = await request(server)
        .get(`/api/catalog/entities/by-name/${kind}/${namespace}/${name}`)
        .set('Authorization', mockCredentials.service.header());
      if (res.status !== 200 || !res.body.relations?.length) missing.push(ref);
    }
    if (!missing.length) return;
    if (Date.now() > deadline)
      throw new Error(`the catalog did not process ${missing.join(', ')}`);
    await new Promise(resolve => setTimeout(resolve, 250));
  }
}

/** The users of catalog.people.yaml. */
export const ALICE = 'user:default/alice'; // team-a, which owns the components
export const BOB = 'user:default/bob'; // team-b: owns nothing here
export const CAROL = 'user:default/carol'; // sre: approves
export const DAVE = 'user:default/dave'; // team-a and sre: may restore and approve
export const PEOPLE = [ALICE, BOB, CAROL, DAVE];
export const PEOPLE_FILE = path.join(__dirname, 'catalog.people.yaml');

export interface ReceivedNotification {
  user: string;
  origin: string;
  payload: { title: string; description?: string; severity?: string };
}

/** What the notifications backend shows `user` (GET /api/notifications as that user). */
export async function notificationsOf(
  server: Server,
  user: string,
): Promise<ReceivedNotification[]> {
  const res = await request(server)
    .get('/api/notifications')
    .set('Authorization', mockCredentials.user.header(user));
  if (res.status !== 200)
    throw new Error(`GET /api/notifications: ${res.status} ${res.text}`);
  return res.body.notifications;
}
