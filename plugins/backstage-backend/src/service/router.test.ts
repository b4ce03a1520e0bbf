import { mockCredentials } from '@backstage/backend-test-utils';
import request from 'supertest';
import {
  useTestBackends,
  SECRETS,
  as,
  body,
  config,
} from '../__testUtils__/backend';
import { ALICE, BOB } from '../__testUtils__/fakes';

describe('restore backend (no cluster): input, ownership, secrets', () => {
  const { started } = useTestBackends();

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

  it('GET /sources shows where a source is (endpoint, bucket) only to its visibleTo; others get its name and prefix', async () => {
    const { server } = await started({
      data: config({
        sources: [
          {
            name: 'nightly',
            title: 'Nightly backups',
            endpoint: 'http://127.0.0.1:1',
            bucket: 'nightly-store',
            prefix: '${namespace}/${entity}/',
            visibleTo: ['group:default/team-a'],
          },
          {
            name: 'vault',
            endpoint: 'https://s3.internal.example:9000',
            bucket: 'crown-jewels',
            prefix: '${namespace}/',
          },
        ],
      }),
    });
    const sources = async (user: string) =>
      (
        await request(server)
          .get('/api/restore/sources')
          .set('Authorization', as(user))
      ).body.items;
    expect(await sources(ALICE)).toEqual([
      {
        name: 'nightly',
        title: 'Nightly backups',
        endpoint: 'http://127.0.0.1:1',
        bucket: 'nightly-store',
        region: 'us-east-1',
        prefix: '${namespace}/${entity}/',
        archiveTiers: [],
      },
      {
        name: 'vault',
        title: 'vault',
        locationHidden: true,
        region: 'us-east-1',
        prefix: '${namespace}/',
        archiveTiers: [],
      },
    ]);
    const forBob = await sources(BOB);
    expect(forBob.map((s: { name: string }) => s.name)).toEqual([
      'nightly',
      'vault',
    ]);
    expect(forBob.every((s: object) => 'locationHidden' in s)).toBe(true);
    const text = JSON.stringify(forBob);
    for (const hidden of [
      '127.0.0.1',
      'nightly-store',
      's3.internal',
      'crown-jewels',
    ])
      expect(text).not.toContain(hidden);
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

  it('options.owner only within kubeRestore.ownership: 400 naming the key otherwise, nothing recorded', async () => {
    const post = (server: Parameters<typeof request>[0], owner: object) =>
      request(server)
        .post('/api/restore/restores')
        .set('Authorization', as(ALICE))
        .send(body({ options: { owner } }));
    const strict = await started();
    const refused = await post(strict.server, { uid: 1500 });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toBe(
      'options.owner.uid: not allowed by this deployment (kubeRestore.ownership.uid is not set)',
    );
    expect(
      (await post(strict.server, { fileMode: '0640' })).body.error.message,
    ).toBe(
      'options.owner.fileMode: not allowed by this deployment (kubeRestore.ownership.modes is not true)',
    );

    const { server } = await started({
      data: config({ ownership: { uid: { min: 1000, max: 1999 } } }),
    });
    const outside = await post(server, { uid: 5000 });
    expect(outside.status).toBe(400);
    expect(outside.body.error.message).toBe(
      'options.owner.uid: 5000 is outside 1000-1999 (kubeRestore.ownership.uid)',
    );
    const inside = await post(server, { uid: 1500 });
    expect(inside.status).toBe(202);
    expect(inside.body.error).toBeUndefined();
    const list = await request(server)
      .get('/api/restore/restores?entityRef=component:default/shop')
      .set('Authorization', as(ALICE));
    expect(list.body.items).toHaveLength(1);
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
