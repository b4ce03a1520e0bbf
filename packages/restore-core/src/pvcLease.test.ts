/**
 * The PVC's Lease (pvcLease.ts) against the in-memory fake (409 on a create that exists and on a
 * replace with a stale resourceVersion, as the API server answers): who wins a race, when a Lease
 * is free again, and the name. The same race on a real API server: test/e2e rbac.test.ts.
 */
import { parseRestoreRequest } from '@kube-restore/common';
import { RestoreError } from './errors';
import { buildRestoreManifests } from './manifests';
import {
  acquirePvcLease,
  LEASE_PENDING_SECONDS,
  leaseNameFor,
} from './pvcLease';
import { createRestore } from './restores';
import { FakeCluster } from './__testUtils__/fakeCluster';

let cluster: FakeCluster;
beforeEach(() => {
  cluster = new FakeCluster();
});

const target = (restore: string) => ({
  namespace: 'team-a',
  pvc: 'data',
  restore,
});
const LEASE = 'kube-restore-pvc-data';

function job(name: string, conditions: { type: string }[] = []) {
  return {
    metadata: { name, namespace: 'team-a', uid: `uid-${name}` },
    spec: {},
    status: {
      conditions: conditions.map(c => ({ ...c, status: 'True' })),
    },
  };
}

describe('acquirePvcLease', () => {
  it('of two takers in the same instant exactly one wins; the other is refused naming it', async () => {
    const results = await Promise.allSettled([
      acquirePvcLease(cluster.clients(), target('first')),
      acquirePvcLease(cluster.clients(), target('second')),
    ]);
    const won = results.filter(r => r.status === 'fulfilled');
    const lost = results.filter(
      (r): r is PromiseRejectedResult => r.status === 'rejected',
    );
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const holder = cluster.get('leases', 'team-a', LEASE).spec.holderIdentity;
    expect(lost[0].reason).toBeInstanceOf(RestoreError);
    expect(lost[0].reason.message).toContain(
      `is being restored by restore "${holder}"`,
    );
  });

  it('is held while the holder Job is live, free once it ended', async () => {
    const first = await acquirePvcLease(cluster.clients(), target('first'));
    cluster.put('jobs', job('first'));
    await first!.bindToJob(cluster.get('jobs', 'team-a', 'first'));
    await expect(
      acquirePvcLease(cluster.clients(), target('second')),
    ).rejects.toThrow(/restore "first"/);
    cluster.put('jobs', {
      ...cluster.get('jobs', 'team-a', 'first'),
      status: { conditions: [{ type: 'Complete', status: 'True' }] },
    });
    await expect(
      acquirePvcLease(cluster.clients(), target('second')),
    ).resolves.toBeDefined();
    expect(cluster.get('leases', 'team-a', LEASE).spec.holderIdentity).toBe(
      'second',
    );
  });

  it('bound to a Job that was deleted: free at once', async () => {
    cluster.put('jobs', job('first'));
    const first = await acquirePvcLease(cluster.clients(), target('first'));
    await first!.bindToJob(cluster.get('jobs', 'team-a', 'first'));
    expect(
      cluster.get('leases', 'team-a', LEASE).metadata.ownerReferences,
    ).toEqual([expect.objectContaining({ kind: 'Job', name: 'first' })]);
    cluster.objects.jobs.clear();
    await expect(
      acquirePvcLease(cluster.clients(), target('second')),
    ).resolves.toBeDefined();
  });

  it('taken by a create interrupted before its Job: held for the pending time, then free', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    await acquirePvcLease(cluster.clients(), target('first'), {
      now: () => now,
    });
    now += (LEASE_PENDING_SECONDS - 1) * 1000;
    await expect(
      acquirePvcLease(cluster.clients(), target('second'), { now: () => now }),
    ).rejects.toThrow(/restore "first"/);
    now += 2000;
    await expect(
      acquirePvcLease(cluster.clients(), target('second'), { now: () => now }),
    ).resolves.toBeDefined();
  });

  it('released by a failed create: free at once', async () => {
    const first = await acquirePvcLease(cluster.clients(), target('first'));
    await first!.release();
    await expect(
      acquirePvcLease(cluster.clients(), target('second')),
    ).resolves.toBeDefined();
  });

  it('dry run: refuses like the real thing, writes nothing', async () => {
    await acquirePvcLease(cluster.clients(), target('first'));
    cluster.calls.length = 0;
    await expect(
      acquirePvcLease(cluster.clients(), target('second'), { dryRun: true }),
    ).rejects.toThrow(/restore "first"/);
    expect(cluster.calls.filter(c => !c.method.startsWith('read'))).toEqual([]);
  });

  it('a name within 253 characters for any PVC name', () => {
    expect(leaseNameFor('data')).toBe(LEASE);
    const long = leaseNameFor('a'.repeat(253));
    expect(long.length).toBeLessThanOrEqual(253);
    expect(long).toMatch(/^kube-restore-pvc-a+-[0-9a-f]{8}$/);
    expect(leaseNameFor('a'.repeat(253))).not.toBe(
      leaseNameFor(`${'a'.repeat(252)}b`),
    );
  });
});

describe('createRestore with the Lease', () => {
  it('two creates into one PVC at once: one restore, the other refused naming it', async () => {
    const req = (prefix: string) =>
      parseRestoreRequest({
        source: { bucket: 'datasets', prefix },
        target: { namespace: 'team-a', pvc: 'data', mode: 'existing' },
      });
    cluster.put('pvcs', { metadata: { name: 'data', namespace: 'team-a' } });
    const results = await Promise.allSettled([
      createRestore(cluster.clients(), req('x/')),
      createRestore(cluster.clients(), req('y/')),
    ]);
    expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(1);
    expect(cluster.objects.jobs.size).toBe(1);
    const [winner] = [...cluster.objects.jobs.values()];
    const lost = results.find(
      (r): r is PromiseRejectedResult => r.status === 'rejected',
    )!;
    expect(lost.reason.message).toContain(`restore "${winner.metadata.name}"`);
    expect(buildRestoreManifests(req('x/')).name).not.toBe(
      buildRestoreManifests(req('y/')).name,
    );
  });
});
