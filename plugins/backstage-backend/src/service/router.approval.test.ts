import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { useTestBackends, as, body, start } from '../__testUtils__/backend';
import { ALICE, BOB, CAROL, DAVE, sqliteFile } from '../__testUtils__/fakes';

describe('restore backend (no cluster): approvals, reads, delete, history', () => {
  const { started } = useTestBackends();

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

  it('an approver may not decide their own request: refused by the self-approval rule, audited, still pending', async () => {
    const { server, audit } = await started();
    const created = await request(server)
      .post('/api/restore/restores')
      .set('Authorization', as(DAVE))
      .send(body());
    expect(created.status).toBe(202);
    for (const decision of ['approve', 'reject']) {
      const res = await request(server)
        .post(`/api/restore/restores/${created.body.id}/${decision}`)
        .set('Authorization', as(DAVE))
        .send({});
      expect(res.status).toBe(403);
      expect(res.body.error.message).toBe(
        'a restore cannot be approved or rejected by the person who asked for it',
      );
    }
    // past the permission policy (dave may approve for sre): the rule itself refused, and it is audited
    expect(audit.map(e => [e.eventId, e.outcome, e.error])).toEqual([
      ['restore-create', 'success', undefined],
      ['restore-approve', 'fail', expect.stringMatching(/person who asked/)],
      ['restore-reject', 'fail', expect.stringMatching(/person who asked/)],
    ]);
    const after = await request(server)
      .get(`/api/restore/restores/${created.body.id}`)
      .set('Authorization', as(DAVE));
    expect(after.body.phase).toBe('PendingApproval');
    // another approver may
    const approvedByCarol = await request(server)
      .post(`/api/restore/restores/${created.body.id}/reject`)
      .set('Authorization', as(CAROL))
      .send({});
    expect(approvedByCarol.status).toBe(200);
  });

  it("403 for the event stream, logs and record of another team's restore", async () => {
    const { server } = await started();
    const created = await request(server)
      .post('/api/restore/restores')
      .set('Authorization', as(ALICE))
      .send(body());
    for (const route of ['events', 'logs', '']) {
      const res = await request(server)
        .get(
          `/api/restore/restores/${created.body.id}/${route}`.replace(
            /\/$/,
            '',
          ),
        )
        .set('Authorization', as(BOB));
      expect([route, res.status, res.headers['content-type']]).toEqual([
        route,
        403,
        expect.stringMatching(/application\/json/),
      ]);
      expect(res.body.error.message).toBe(
        'you may not read restores of component:default/shop',
      );
    }
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
});
