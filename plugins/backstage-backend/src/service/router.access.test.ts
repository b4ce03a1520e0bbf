import { mockCredentials } from '@backstage/backend-test-utils';
import request from 'supertest';
import {
  useTestBackends,
  config,
  as,
  asService,
  body,
} from '../__testUtils__/backend';
import { ALICE } from '../__testUtils__/fakes';

describe('restore backend (no cluster): credentials and service tokens', () => {
  const { started } = useTestBackends();

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
        'service external:pvc-plumber may not create, delete, approve or reject restores: only users, or services named in kubeRestore.serviceAccess.write with the owners they act for',
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

  it('services config allows reads for any service token; a write subject creates and deletes only for the owners listed for it, and never approves', async () => {
    // The test backend's permission service allows services everything, as Backstage's does: only the
    // plugin's own scope (kubeRestore.serviceAccess.write owners) stands between a bot and an entity.
    const { server, audit } = await started({
      data: config({
        serviceAccess: {
          read: true,
          write: [
            {
              subject: 'external:release-bot',
              owners: ['group:default/team-a'],
            },
            {
              subject: 'external:other-bot',
              owners: ['group:default/team-b'],
            },
          ],
        },
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

    // the bot listed for team-a restores team-a's entity (held for approval by the Expedited rule)
    const bot = asService('external:release-bot');
    const created = await request(server)
      .post('/api/restore/restores')
      .set('Authorization', bot)
      .send(body());
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({
      entityRef: 'component:default/shop',
      requester: 'service:external:release-bot',
      phase: 'PendingApproval',
    });

    // the bot listed for team-b only: refused for team-a's entity, naming what config must say; nothing recorded
    const other = asService('external:other-bot');
    const refused = await request(server)
      .post('/api/restore/restores')
      .set('Authorization', other)
      .send(body({ target: { pvc: 'other-data', size: '1Gi' } }));
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe(
      "service external:other-bot may not create restores for component:default/shop: its owner group:default/team-a is not among the owners kubeRestore.serviceAccess.write lists for external:other-bot; to let it act for that owner, config must say { subject: 'external:other-bot', owners: ['group:default/team-b', 'group:default/team-a'] }",
    );
    const namespaceRestore = await request(server)
      .post('/api/restore/restores/namespace')
      .set('Authorization', other)
      .send({
        entityRef: 'component:default/shop',
        source: { name: 'nightly' },
      });
    expect(namespaceRestore.status).toBe(403);
    const history = await request(server)
      .get('/api/restore/restores?entityRef=component:default/shop')
      .set('Authorization', as(ALICE));
    expect(history.body.items.map((r: { id: string }) => r.id)).toEqual([
      created.body.id,
    ]);

    // services never approve or reject, not even a listed owner's bot; nor delete for another owner
    const id = created.body.id;
    for (const [who, route] of [
      [bot, 'approve'],
      [bot, 'reject'],
      [other, 'approve'],
    ]) {
      const res = await request(server)
        .post(`/api/restore/restores/${id}/${route}`)
        .set('Authorization', who)
        .send({});
      expect([route, res.status, res.body.error?.message]).toEqual([
        route,
        403,
        expect.stringMatching(
          /^service external:(release|other)-bot may not approve or reject restores: approvals are made by people/,
        ),
      ]);
    }
    const deleteByOther = await request(server)
      .delete(`/api/restore/restores/${id}`)
      .set('Authorization', other);
    expect(deleteByOther.status).toBe(403);
    expect(deleteByOther.body.error.message).toMatch(
      /^service external:other-bot may not delete restores of component:default\/shop: its owner group:default\/team-a/,
    );
    const still = await request(server)
      .get(`/api/restore/restores/${id}`)
      .set('Authorization', as(ALICE));
    expect(still.body).toMatchObject({ phase: 'PendingApproval' });
    expect(still.body.deletedAt).toBeUndefined();

    // an unknown id is 404 before any refusal, for a bot as for a person
    const missing = await request(server)
      .post('/api/restore/restores/no-such-id/approve')
      .set('Authorization', bot)
      .send({});
    expect(missing.status).toBe(404);

    // the listed bot deletes (withdraws) its team's pending restore
    const deleted = await request(server)
      .delete(`/api/restore/restores/${id}`)
      .set('Authorization', bot);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ phase: 'Rejected' });
    expect(audit.map(e => [e.eventId, e.outcome])).toEqual([
      ['restore-create', 'success'],
      ['restore-delete', 'success'],
    ]);
  });

  it('without serviceAccess.read, a write subject reads and plans only for the owners listed for it', async () => {
    const { server } = await started({
      data: config({
        serviceAccess: {
          write: [
            {
              subject: 'external:release-bot',
              owners: ['group:default/team-a'],
            },
            {
              subject: 'external:other-bot',
              owners: ['group:default/team-b'],
            },
          ],
        },
      }),
    });
    const pending = await request(server)
      .post('/api/restore/restores')
      .set('Authorization', as(ALICE))
      .send(body());
    expect(pending.status).toBe(202);
    const id = pending.body.id;
    const bot = asService('external:release-bot');
    const other = asService('external:other-bot');
    expect(
      (
        await request(server)
          .get(`/api/restore/restores/${id}`)
          .set('Authorization', bot)
      ).status,
    ).toBe(200);
    const get = await request(server)
      .get(`/api/restore/restores/${id}`)
      .set('Authorization', other);
    expect(get.status).toBe(403);
    expect(get.body.error.message).toMatch(
      /^service external:other-bot may not read restores of component:default\/shop: its owner group:default\/team-a .*kubeRestore\.serviceAccess\.read: true/,
    );
    const listed = async (who: string) =>
      (
        await request(server)
          .get('/api/restore/restores')
          .set('Authorization', who)
      ).body.items.map((r: { id: string }) => r.id);
    expect(await listed(bot)).toEqual([id]);
    expect(await listed(other)).toEqual([]);
    const plan = await request(server)
      .post('/api/restore/plan')
      .set('Authorization', other)
      .send(body());
    expect(plan.status).toBe(403);
    expect(plan.body.error.message).toMatch(
      /^service external:other-bot may not plan restores for component:default\/shop/,
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
});
