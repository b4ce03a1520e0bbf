/**
 * The restore plugin in a test backend without a cluster: Backstage's test backend with the stand-ins of
 * fakes.ts, a SQLite database, and the consent stand-in of consentApi.ts as the cluster's API server (it
 * answers only the consent read). Each suite calls useTestBackends() once.
 */
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { JsonObject } from '@backstage/types';
import { restorePlugin } from '../plugin';
import { startConsentApi } from './consentApi';
import {
  component,
  fakeCatalogPlugin,
  fakeNotificationsPlugin,
  ownerPolicyPermissions,
  recordingAuditor,
  recordingLogger,
  sqliteFile,
  userInfoFactory,
} from './fakes';

export const SECRETS = [
  'cluster-token-d0-not-leak',
  'AKIA-ID-d0-not-leak',
  'secret-key-d0-not-leak',
];
const ENTITIES = [
  component('shop', 'team-a', 'team-a'),
  component('nowhere', 'team-a', 'x', {}),
  // team-a's entity, annotated by its authors with namespaces that did not consent to team-a
  component('intruder', 'team-a', 'team-b'),
  component('drifter', 'team-a', 'team-c'),
  component('stranger', 'team-a', 'team-d'),
];
/** Namespaces' opt-in RoleBindings: team-a consents to its team, team-b to another, team-c names nobody, team-d has none. */
const OPT_INS = {
  'team-a': 'group:default/team-a, user:default/somebody',
  'team-b': 'group:default/team-b',
  'team-c': undefined,
};
let kube: Awaited<ReturnType<typeof startConsentApi>> | undefined;
delete ENTITIES[1].metadata.annotations!['backstage.io/kubernetes-namespace'];

export function config(extra: JsonObject = {}): JsonObject {
  return {
    kubeRestore: {
      // A stand-in answering only the consent read (see consentApi.ts); nothing listens for S3. These tests
      // never reach a cluster (router.cluster.test.ts does).
      clusters: [
        {
          name: 'local',
          url: kube!.url,
          skipTLSVerify: true, // client-node refuses plain http otherwise
          serviceAccountToken: SECRETS[0],
        },
      ],
      sources: [
        {
          name: 'nightly',
          title: 'Nightly backups',
          endpoint: 'http://127.0.0.1:1',
          bucket: 'backups',
          prefix: '${namespace}/${entity}/',
          credentials: { accessKeyId: SECRETS[1], secretAccessKey: SECRETS[2] },
          archiveTiers: ['Expedited', 'Bulk'],
        },
      ],
      exists: { source: 'nightly', template: '${namespace}/${pvc}/' },
      approval: {
        rules: [
          {
            name: 'fast-thaw',
            tiers: ['Expedited'],
            approvers: ['group:default/sre'],
          },
        ],
      },
      notifications: { enabled: true },
      ...extra,
    },
  };
}

export const as = (user: string) => mockCredentials.user.header(user);
/** A service token with this subject, as the auth service issues it (`external:...` for externalAccess). */
export const asService = (subject: string) =>
  mockCredentials.service.header({
    onBehalfOf: mockCredentials.service(subject),
    targetPluginId: 'restore',
  });

export const body = (extra: Record<string, unknown> = {}) => ({
  entityRef: 'component:default/shop',
  source: { name: 'nightly', path: 'data/', archiveTier: 'Expedited' },
  target: { pvc: 'shop-data', size: '1Gi' },
  ...extra,
});

export async function start(
  options: { data?: JsonObject; db?: ReturnType<typeof sqliteFile> } = {},
) {
  const logs = recordingLogger();
  const audit = recordingAuditor();
  const notifications = fakeNotificationsPlugin();
  const db = options.db ?? sqliteFile();
  const backend = await startTestBackend({
    features: [
      restorePlugin,
      notifications.plugin,
      fakeCatalogPlugin(ENTITIES),
      mockServices.rootConfig.factory({ data: options.data ?? config() }),
      ownerPolicyPermissions(ENTITIES),
      userInfoFactory,
      logs.factory,
      audit.factory,
      db.factory,
    ],
  });
  return {
    backend,
    /** Stops the backend and closes its database. */
    stop: async () => {
      await backend.stop();
      await db.knex.destroy();
    },
    server: backend.server,
    logs: logs.lines,
    audit: audit.events,
    notified: notifications.received,
  };
}

/**
 * Starts the consent stand-in for the suite and stops every backend after its test. Returns `started`
 * (start, stopped after the test) and the stand-in's log of requests.
 */
export function useTestBackends() {
  const stops: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    kube = await startConsentApi(OPT_INS);
  });
  afterAll(async () => {
    await kube?.stop();
    kube = undefined;
  });
  afterEach(async () => {
    while (stops.length) await stops.pop()!();
  });
  return {
    async started(options?: Parameters<typeof start>[0]) {
      const s = await start(options);
      stops.push(s.stop);
      return s;
    },
    /** Requests the cluster's stand-in received, as `METHOD path`. */
    clusterRequests: () => kube!.requests,
  };
}
