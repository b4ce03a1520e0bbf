import request from 'supertest';
import { useTestBackends, as, body } from '../__testUtils__/backend';
import { ALICE } from '../__testUtils__/fakes';

describe('restore backend (no cluster): namespace consent and one plan', () => {
  const { started, clusterRequests } = useTestBackends();

  it.each([
    ['intruder', 'team-b', 'consents to another team'],
    ['drifter', 'team-c', 'opted in without naming owners'],
    ['stranger', 'team-d', 'never opted in'],
  ])(
    '403 for an entity annotated with a namespace that does not consent (%s: %s %s); nothing read, recorded or created',
    async (entity, namespace) => {
      const { server, audit, notified } = await started();
      const before = clusterRequests().length;
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
      expect(clusterRequests().slice(before)).toEqual([
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
});
