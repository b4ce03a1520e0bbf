/**
 * checkAccess and requiredAccess against an in-memory fake of the API calls
 * (__testUtils__/fakeCluster.ts). The same calls against a real API server: test/e2e rbac.test.ts.
 */
import { parseRestoreRequest, RestoreRequestInput } from '@kube-restore/common';
import { checkAccess, requiredAccess } from './access';
import { FakeCluster } from './__testUtils__/fakeCluster';

const input: RestoreRequestInput = {
  source: { bucket: 'datasets', prefix: 'team-a/train/' },
  target: { namespace: 'team-a', pvc: 'train-data', size: '10Gi' },
};
const request = parseRestoreRequest(input);

let cluster: FakeCluster;
beforeEach(() => {
  cluster = new FakeCluster();
});

describe('checkAccess', () => {
  it('asks one SelfSubjectAccessReview per need, in the target namespace', async () => {
    cluster.denied.add('create secrets');
    const checks = await checkAccess(cluster.clients(), request, {
      withSecret: true,
    });
    expect(checks.map(c => `${c.verb} ${c.resource}`)).toEqual(
      requiredAccess(request, { withSecret: true }).map(
        n => `${n.verb} ${n.resource}`,
      ),
    );
    expect(checks.every(c => c.namespace === 'team-a')).toBe(true);
    expect(checks.filter(c => !c.allowed)).toEqual([
      expect.objectContaining({
        verb: 'create',
        resource: 'secrets',
        reason: 'RBAC: no rule',
      }),
    ]);
  });

  it('needs create on PVCs only for a new PVC, secrets and patch only with a Secret', () => {
    const existing = parseRestoreRequest({
      ...input,
      target: { namespace: 'team-a', pvc: 'shared', mode: 'existing' },
    });
    const names = (r = request, withSecret = false) =>
      requiredAccess(r, { withSecret }).map(n => `${n.verb} ${n.resource}`);
    expect(names()).toContain('create persistentvolumeclaims');
    expect(names(existing)).not.toContain('create persistentvolumeclaims');
    expect(names()).not.toContain('create secrets');
    expect(names(request, true)).toEqual(
      expect.arrayContaining(['create secrets', 'patch jobs']),
    );
  });
});
