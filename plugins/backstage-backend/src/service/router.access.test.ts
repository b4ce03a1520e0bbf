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
