import request from 'supertest';
import { useTestBackends, config, as, body } from '../__testUtils__/backend';
import { ALICE } from '../__testUtils__/fakes';

describe('restore backend (no cluster): limits', () => {
  const { started } = useTestBackends();

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
});
