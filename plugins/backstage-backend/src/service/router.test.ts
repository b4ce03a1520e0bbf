import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { JsonObject } from '@backstage/types';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { restorePlugin } from '../plugin';
import {
  ALICE,
  BOB,
  CAROL,
  component,
  fakeCatalogPlugin,
  fakeNotificationsPlugin,
  ownerPolicyPermissions,
  recordingAuditor,
  recordingLogger,
  sqliteFile,
  userInfoFactory,
} from '../__testUtils__/fakes';
import { startConsentApi } from '../__testUtils__/consentApi';

const SECRETS = [
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
let kube: Awaited<ReturnType<typeof startConsentApi>>;
beforeAll(async () => {
  kube = await startConsentApi(OPT_INS);
});
afterAll(async () => {
  await kube?.stop();
});
delete ENTITIES[1].metadata.annotations!['backstage.io/kubernetes-namespace'];

function config(extra: JsonObject = {}): JsonObject {
  return {
    kubeRestore: {
      // A stand-in answering only the consent read (see consentApi.ts); nothing listens for S3. These tests
      // never reach a cluster (router.cluster.test.ts does).
      clusters: [
        {
          name: 'local',
          url: kube.url,
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

const as = (user: string) => mockCredentials.user.header(user);
/** A service token with this subject, as the auth service issues it (`external:...` for externalAccess). */
const asService = (subject: string) =>
  mockCredentials.service.header({
    onBehalfOf: mockCredentials.service(subject),
    targetPluginId: 'restore',
  });

const body = (extra: Record<string, unknown> = {}) => ({
  entityRef: 'component:default/shop',
  source: { name: 'nightly', path: 'data/', archiveTier: 'Expedited' },
  target: { pvc: 'shop-data', size: '1Gi' },
  ...extra,
});

async function start(
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

describe('restore backend (no cluster)', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (stops.length) await stops.pop()!();
  });
  async function started(options?: Parameters<typeof start>[0]) {
    const s = await start(options);
    stops.push(s.stop);
    return s;
  }

  it('400 naming the field for a malformed body, and nothing is recorded', async () => {
    const { server } = await started();
    const bad = await request(server)
      .post('/api/restore/restores')
      .set('Authorization', as(ALICE))
      .send(body({ target: { pvc: 'Not_A_Name', size: '1Gi' } }));
    expect(bad.status).toBe(400);
    expect(bad.body.error.name).toBe('InputError');
    expect(bad.body.error.message).toMatch(/target\.pvc: "Not_A_Name"/);

    const missing = await request(server)
      .post('/api/restore/restores')
      .set('Authorization', as(ALICE))
      .send({ entityRef: 'component:default/shop', target: { pvc: 'x' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/source: is required/);

    const namespace = await request(server)
      .post('/api/restore/plan')
      .set('Authorization', as(ALICE))
      .send(body({ target: { pvc: 'x', namespace: 'kube-system' } }));
    expect(namespace.status).toBe(400);
    expect(namespace.body.error.message).toMatch(
      /target: unknown field "namespace"/,
    );

    const list = await request(server)
      .get('/api/restore/restores?entityRef=component:default/shop')
      .set('Authorization', as(ALICE));
    expect(list.body.items).toEqual([]);
  });

  it('400 when the entity has no namespace annotation, naming it', async () => {
    const { server } = await started();
    const res = await request(server)
      .post('/api/restore/restores')
      .set('Authorization', as(ALICE))
      .send(body({ entityRef: 'component:default/nowhere' }));
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(
      /backstage\.io\/kubernetes-namespace/,
    );
  });

  it('400 for an archive tier the source does not allow', async () => {
    const { server } = await started();
    const res = await request(server)
      .post('/api/restore/restores')
      .set('Authorization', as(ALICE))
      .send(body({ source: { name: 'nightly', archiveTier: 'Standard' } }));
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(
      /source\.archiveTier: "Standard" is not allowed/,
    );
  });

  it('403 when the user does not own the entity, and nothing is recorded or created', async () => {
    const { server, audit } = await started();
    for (const route of ['/api/restore/restores', '/api/restore/plan']) {
      const res = await request(server)
        .post(route)
        .set('Authorization', as(BOB))
        .send(body());
      expect(res.status).toBe(403);
      expect(res.body.error).toEqual({
        name: 'NotAllowedError',
        message: expect.stringMatching(/component:default\/shop/),
      });
    }
    const list = await request(server)
      .get('/api/restore/restores?entityRef=component:default/shop')
      .set('Authorization', as(ALICE));
    expect(list.body.items).toEqual([]);
    expect(audit).toEqual([]);
  });

  it.each([
    ['intruder', 'team-b', 'consents to another team'],
    ['drifter', 'team-c', 'opted in without naming owners'],
    ['stranger', 'team-d', 'never opted in'],
  ])(
    '403 for an entity annotated with a namespace that does not consent (%s: %s %s); nothing read, recorded or created',
    async (entity, namespace) => {
      const { server, audit, notified } = await started();
      const before = kube.requests.length;
      for (const route of ['/api/restore/plan', '/api/restore/restores']) {
        const res = await request(server)
          .post(route)
          .set('Authorization', as(ALICE))
          .send(
            body({
              entityRef: `component:default/${entity}`,
              source: { name: 'nightly', path: 'data/' },
            }),
          );
        expect(res.status).toBe(403);
        // One message whatever the namespace's state, naming what its admin must do; no plan at all.
        expect(res.body).toEqual({
          error: {
            name: 'NotAllowedError',
            message: `namespace ${namespace} on cluster local does not allow Backstage restores for group:default/team-a: a namespace admin of ${namespace} opts in (kubectl apply -k deploy/rbac/opt-in -n ${namespace}) and lists the owner in annotation kube-restore.io/backstage-owners of RoleBinding kube-restore-operator (kubectl -n ${namespace} annotate rolebinding kube-restore-operator --overwrite kube-restore.io/backstage-owners=group:default/team-a, comma-separated with owners already there)`,
          },
          request: expect.anything(),
          response: expect.anything(),
        });
      }
      // The only call made to the cluster was reading the consent: no PVC, no access review, no Job.
      expect(kube.requests.slice(before)).toEqual([
        `GET /apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings/kube-restore-operator`,
        `GET /apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings/kube-restore-operator`,
      ]);
      const list = await request(server)
        .get(`/api/restore/restores?entityRef=component:default/${entity}`)
        .set('Authorization', as(ALICE));
      expect(list.body.items).toEqual([]);
      expect(audit).toEqual([]);
      expect(notified).toEqual([]);
    },
  );

  it('the namespace consents to the owner of the entity: the same request for an entity in team-a is recorded', async () => {
    const { server } = await started();
    const res = await request(server)
      .post('/api/restore/restores')
      .set('Authorization', as(ALICE))
      .send(body());
    expect(res.body.error).toBeUndefined();
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      namespace: 'team-a',
      phase: 'PendingApproval',
    });
  });

  it('a service token may ask /exists only: create, delete, approve, reject and reads are refused before anything happens', async () => {
    const { server, audit } = await started();
    const pending = await request(server)
      .post('/api/restore/restores')
      .set('Authorization', as(ALICE))
      .send(body());
    expect(pending.status).toBe(202);
    const id = pending.body.id;
    const service = asService('external:pvc-plumber');
    const calls: [string, string, object?][] = [
      [
        'post',
        '/api/restore/restores',
        body({ target: { pvc: 'svc', size: '1Gi' } }),
      ],
      [
        'post',
        '/api/restore/restores/namespace',
        { entityRef: 'component:default/shop', source: { name: 'nightly' } },
      ],
      ['delete', `/api/restore/restores/${id}?deletePvc=true`],
      ['post', `/api/restore/restores/${id}/approve`, {}],
      ['post', `/api/restore/restores/${id}/reject`, {}],
    ];
    for (const [method, route, payload] of calls) {
      const res = await (request(server) as any)
        [method](route)
        .set('Authorization', service)
        .send(payload);
      expect([route, res.status, res.body.error?.message]).toEqual([
        route,
        403,
        'service external:pvc-plumber may not create, delete, approve or reject restores: only users, or services named in kubeRestore.serviceAccess.write',
      ]);
    }
    for (const route of [
      '/api/restore/sources',
      '/api/restore/restores',
      `/api/restore/restores/${id}`,
      `/api/restore/restores/${id}/events`,
    ]) {
      const res = await request(server)
        .get(route)
        .set('Authorization', service);
      expect([route, res.status, res.body.error?.message]).toEqual([
        route,
        403,
        expect.stringMatching(
          /^service external:pvc-plumber may not read restores: allow .*kubeRestore\.serviceAccess\.read/,
        ),
      ]);
    }
    // the pending restore is untouched, and only alice's create was audited
    const after = await request(server)
      .get(`/api/restore/restores/${id}`)
      .set('Authorization', as(ALICE));
    expect(after.body).toMatchObject({ phase: 'PendingApproval' });
    expect(after.body.deletedAt).toBeUndefined();
    expect(audit.map(e => e.eventId)).toEqual(['restore-create']);
  });

  it('services config allows: reads for any service token; writes for a named subject, and then the permission policy decides', async () => {
    const { server } = await started({
      data: config({
        serviceAccess: { read: true, write: ['external:release-bot'] },
      }),
    });
    const reader = asService('external:dashboard');
    expect(
      (
        await request(server)
          .get('/api/restore/restores')
          .set('Authorization', reader)
      ).status,
    ).toBe(200);
    const write = await request(server)
      .post('/api/restore/restores')
      .set('Authorization', reader)
      .send(body());
    expect(write.status).toBe(403);
    expect(write.body.error.message).toMatch(
      /kubeRestore\.serviceAccess\.write/,
    );
    // past the gate, the permission policy (owners only) refuses the bot: it owns nothing
    const bot = await request(server)
      .post('/api/restore/restores')
      .set('Authorization', asService('external:release-bot'))
      .send(body());
    expect(bot.status).toBe(403);
    expect(bot.body.error.message).toBe(
      'you may not create restores for component:default/shop',
    );
  });

  it.each([
    [
      `${'n'.repeat(64)}/data`,
      /^namespace: "n{64}" must be at most 63 characters/,
    ],
    ['team-a/a..b', /^pvc: "a\.\.b" must consist of/],
    [
      `team-a/${'p'.repeat(254)}`,
      /^pvc: "p{254}" must be at most 253 characters/,
    ],
  ])(
    '/exists refuses %s with 400, by the DNS-1123 rule the API server applies',
    async (target, message) => {
      const { server } = await started();
      const res = await request(server)
        .get(`/api/restore/exists/${target}`)
        .set('Authorization', asService('external:pvc-plumber'));
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(message);
    },
  );

  it("/plan is core's planRestore: what cannot be read is a problem in the plan, as in `kubectl restore plan`", async () => {
    const { server } = await started();
    const res = await request(server)
      .post('/api/restore/plan')
      .set('Authorization', as(ALICE))
      .send(body());
    expect(res.status).toBe(200);
    // This test's stand-in answers only the consent read (503 otherwise) and nothing serves S3.
    expect(res.body.pvc).toMatchObject({
      name: 'shop-data',
      namespace: 'team-a',
      exists: false,
      error: expect.stringMatching(/persistentvolumeclaims/),
    });
    expect(res.body.problems).toEqual([
      expect.stringMatching(/^the access checks could not be made: /),
      expect.stringMatching(/^the source cannot be read: /),
      `the target PVC cannot be read: ${res.body.pvc.error}`,
    ]);
    expect(res.body.access).toMatchObject({ allowed: false, checks: [] });
  });

  it('401 without credentials on every route but /health', async () => {
    const { server } = await started();
    expect(
      (
        await request(server)
          .get('/api/restore/health')
          .set('Authorization', mockCredentials.none.header())
      ).status,
    ).toBe(200);
    for (const [method, route] of [
      ['get', '/api/restore/sources'],
      ['post', '/api/restore/plan'],
      ['post', '/api/restore/restores'],
      ['post', '/api/restore/restores/namespace'],
      ['get', '/api/restore/restores'],
      ['get', '/api/restore/restores/x'],
      ['get', '/api/restore/restores/x/events'],
      ['get', '/api/restore/restores/x/logs'],
      ['delete', '/api/restore/restores/x'],
      ['post', '/api/restore/restores/x/approve'],
      ['post', '/api/restore/restores/x/reject'],
      ['get', '/api/restore/exists/team-a/data'],
    ] as const) {
      expect(
        (
          await request(server)
            [method](route)
            .set('Authorization', mockCredentials.none.header())
        ).status,
      ).toBe(401);
    }
  });

  it('approval holds the restore in PendingApproval; only an approver may decide; rejection creates nothing', async () => {
    const { server, audit, notified } = await started();
    const created = await request(server)
      .post('/api/restore/restores')
      .set('Authorization', as(ALICE))
      .send(body());
    expect(created.status).toBe(202);
    expect(notified).toEqual([
      {
        recipients: { type: 'entity', entityRef: ['group:default/sre'] },
        payload: expect.objectContaining({
          title: 'Restore into team-a/shop-data needs your approval',
          topic: 'kube-restore',
        }),
      },
    ]);
    expect(created.body).toMatchObject({
      phase: 'PendingApproval',
      namespace: 'team-a',
      cluster: 'local',
      pvc: 'shop-data',
      requester: ALICE,
      source: 'http://127.0.0.1:1/backups/team-a/shop/data/',
      approval: {
        required: true,
        reasons: [{ rule: 'fast-thaw', approvers: ['group:default/sre'] }],
      },
    });
    expect(created.body.jobCreatedAt).toBeUndefined();
    const id = created.body.id;

    // the requester is not an approver
    const self = await request(server)
      .post(`/api/restore/restores/${id}/approve`)
      .set('Authorization', as(ALICE))
      .send({});
    expect(self.status).toBe(403);
    // an approver rejects
    const rejected = await request(server)
      .post(`/api/restore/restores/${id}/reject`)
      .set('Authorization', as(CAROL))
      .send({ comment: 'use Bulk' });
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({
      phase: 'Rejected',
      approval: {
        decision: { state: 'rejected', by: CAROL, comment: 'use Bulk' },
      },
    });
    expect(rejected.body.jobCreatedAt).toBeUndefined();
    expect(notified[1]).toMatchObject({
      recipients: { entityRef: [ALICE] },
      payload: {
        title: 'Restore into team-a/shop-data was rejected',
        description: `${CAROL} rejected the restore of http://127.0.0.1:1/backups/team-a/shop/data/: use Bulk.`,
      },
    });
    // decided once
    const again = await request(server)
      .post(`/api/restore/restores/${id}/approve`)
      .set('Authorization', as(CAROL))
      .send({});
    expect(again.status).toBe(409);

    const events = await request(server)
      .get(`/api/restore/restores/${id}/events`)
      .set('Authorization', as(ALICE));
    expect(events.headers['content-type']).toMatch(/text\/event-stream/);
    expect(events.text).toMatch(/^event: status\ndata: .*"phase":"Rejected"/);
    expect(events.text).toMatch(/event: end/);

    expect(audit.map(e => [e.eventId, e.outcome])).toEqual([
      ['restore-create', 'success'],
      // alice's approval was refused by the permission policy before anything happened: not audited
      ['restore-reject', 'success'],
      ['restore-approve', 'fail'],
    ]);
    expect(audit[0].meta).toMatchObject({
      actor: ALICE,
      entityRef: 'component:default/shop',
      namespace: 'team-a',
      pvc: 'shop-data',
      sourceName: 'nightly',
    });
    expect(audit[1].meta).toMatchObject({ approver: CAROL });
    expect(audit[2].error).toMatch(/not waiting for approval/);
  });

  it('delete needs restore.delete on the entity; a deleted pending restore leaves history and is never created', async () => {
    const { server, audit } = await started();
    const created = await request(server)
      .post('/api/restore/restores')
      .set('Authorization', as(ALICE))
      .send(body());
    const id = created.body.id;
    expect(
      (
        await request(server)
          .delete(`/api/restore/restores/${id}`)
          .set('Authorization', as(BOB))
      ).status,
    ).toBe(403);
    const deleted = await request(server)
      .delete(`/api/restore/restores/${id}`)
      .set('Authorization', as(ALICE));
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({
      id,
      phase: 'Rejected',
      deletedAt: expect.any(String),
    });
    expect(deleted.body.jobCreatedAt).toBeUndefined();
    expect(
      (
        await request(server)
          .post(`/api/restore/restores/${id}/approve`)
          .set('Authorization', as(CAROL))
          .send({})
      ).status,
    ).toBe(409);
    expect(audit.find(e => e.eventId === 'restore-delete')).toMatchObject({
      outcome: 'success',
      meta: { actor: ALICE, entityRef: 'component:default/shop' },
    });
    expect(
      (
        await request(server)
          .get('/api/restore/restores/nope')
          .set('Authorization', as(ALICE))
      ).status,
    ).toBe(404);
  });

  it('429 naming the limit when an owner passes restores per day', async () => {
    const { server } = await started({
      data: config({ limits: { restoresPerDayPerOwner: 2 } }),
    });
    for (const pvc of ['a', 'b']) {
      const res = await request(server)
        .post('/api/restore/restores')
        .set('Authorization', as(ALICE))
        .send(body({ target: { pvc, size: '1Gi' } }));
      expect(res.status).toBe(202);
    }
    const third = await request(server)
      .post('/api/restore/restores')
      .set('Authorization', as(ALICE))
      .send(body({ target: { pvc: 'c', size: '1Gi' } }));
    expect(third.status).toBe(429);
    expect(third.body.error.message).toMatch(
      /group:default\/team-a made 2 restores in the last 24 hours, the limit is 2 \(kubeRestore\.limits\.restoresPerDayPerOwner\)/,
    );
  });

  it('20 parallel creates against a limit of 2 per user: exactly 2 recorded, 18 refused with 429 naming the limit', async () => {
    const { server } = await started({
      data: config({ limits: { restoresPerDayPerUser: 2 } }),
    });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        request(server)
          .post('/api/restore/restores')
          .set('Authorization', as(ALICE))
          .send(body({ target: { pvc: `p${i}`, size: '1Gi' } })),
      ),
    );
    const statuses = results.map(r => r.status).sort();
    expect(statuses).toEqual([202, 202, ...Array(18).fill(429)]);
    expect(results.find(r => r.status === 429)!.body.error.message).toMatch(
      /user:default\/alice made 2 restores in the last 24 hours, the limit is 2 \(kubeRestore\.limits\.restoresPerDayPerUser\)/,
    );
    const list = await request(server)
      .get('/api/restore/restores?entityRef=component:default/shop')
      .set('Authorization', as(ALICE));
    expect(list.body.items).toHaveLength(2);
  });

  it('429 for an explicit PVC size above maxBytesPerRestore, before the source is read; nothing recorded', async () => {
    const { server } = await started({
      data: config({ limits: { maxBytesPerRestore: '10Gi' } }),
    });
    const res = await request(server)
      .post('/api/restore/restores')
      .set('Authorization', as(ALICE))
      .send(body({ target: { pvc: 'huge', size: '11Gi' } }));
    expect(res.status).toBe(429);
    expect(res.body.error.message).toBe(
      'restore refused: it asks for a PVC of 11Gi, more than the limit of 10Gi per restore (kubeRestore.limits.maxBytesPerRestore)',
    );
    const list = await request(server)
      .get('/api/restore/restores?entityRef=component:default/shop')
      .set('Authorization', as(ALICE));
    expect(list.body.items).toEqual([]);
  });

  it('history survives a backend restart', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'restore-history-'));
    const file = path.join(dir, 'restore.sqlite');
    const first = await start({ db: sqliteFile(file) });
    const created = await request(first.server)
      .post('/api/restore/restores')
      .set('Authorization', as(ALICE))
      .send(body());
    expect(created.status).toBe(202);
    await first.stop();

    const second = await started({ db: sqliteFile(file) });
    const res = await request(second.server)
      .get(`/api/restore/restores/${created.body.id}`)
      .set('Authorization', as(ALICE));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: created.body.id,
      phase: 'PendingApproval',
      requester: ALICE,
      pvc: 'shop-data',
    });
    const list = await request(second.server)
      .get('/api/restore/restores?entityRef=component:default/shop')
      .set('Authorization', as(ALICE));
    expect(list.body.items.map((r: { id: string }) => r.id)).toEqual([
      created.body.id,
    ]);
    // someone who may not read the entity sees nothing
    const bobs = await request(second.server)
      .get('/api/restore/restores?namespace=team-a')
      .set('Authorization', as(BOB));
    expect(bobs.body.items).toEqual([]);
  });

  it('/exists answers unknown with 503 when the source cannot be read, for service callers only', async () => {
    const { server } = await started();
    const res = await request(server)
      .get('/api/restore/exists/team-a/data')
      .set('Authorization', mockCredentials.service.header());
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({
      decision: 'unknown',
      location: 's3://backups/team-a/data/',
    });
    const user = await request(server)
      .get('/api/restore/exists/team-a/data')
      .set('Authorization', as(ALICE));
    expect(user.status).toBe(403);
  });

  // With a cluster that answers (success paths too): router.cluster.test.ts.
  it('secrets from config never appear in a response or log on refusals and errors (no cluster or S3 to restore with)', async () => {
    const { server, logs } = await started();
    const bodies: string[] = [];
    const call = async (r: request.Test) => {
      const res = await r;
      bodies.push(res.text, JSON.stringify(res.headers));
    };
    await call(
      request(server)
        .get('/api/restore/sources')
        .set('Authorization', as(ALICE)),
    );
    await call(
      request(server)
        .post('/api/restore/plan')
        .set('Authorization', as(ALICE))
        .send(body({ source: { name: 'nightly' } })),
    );
    await call(
      request(server)
        .post('/api/restore/restores')
        .set('Authorization', as(ALICE))
        .send(body()),
    );
    await call(
      request(server)
        .post('/api/restore/restores')
        .set('Authorization', as(ALICE))
        .send(body({ source: { name: 'nightly' } })),
    );
    await call(
      request(server)
        .get('/api/restore/restores')
        .set('Authorization', as(ALICE)),
    );
    await call(
      request(server)
        .get('/api/restore/exists/team-a/x')
        .set('Authorization', mockCredentials.service.header()),
    );
    expect(bodies.join('\n')).toContain('nightly'); // the calls did answer
    for (const secret of SECRETS) {
      expect(bodies.join('\n')).not.toContain(secret);
      expect(logs.join('\n')).not.toContain(secret);
    }
  }, 30_000);
});
