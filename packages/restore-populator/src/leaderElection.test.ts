/**
 * The Lease rule on its own (pure logic, a fake clock): when may a candidate take the Lease? The
 * election against the API server is deployment.cluster.test.ts.
 */
import type { V1Lease } from '@kubernetes/client-node';
import { LeaseObservation } from './leaderElection';

const lease = (holder: string | undefined, renewTime: string): V1Lease => ({
  metadata: { name: 'l', namespace: 'kube-restore' },
  spec: {
    holderIdentity: holder,
    renewTime: new Date(renewTime),
    leaseDurationSeconds: 15,
  },
});

describe('LeaseObservation', () => {
  it('takes a missing Lease, one without a holder, or its own at once', () => {
    const seen = new LeaseObservation();
    seen.observe(undefined, 0);
    expect(seen.mayTake(undefined, 'me', 0, 15_000)).toBe(true);
    const free = lease(undefined, '2026-01-01T00:00:00Z');
    seen.observe(free, 0);
    expect(seen.mayTake(free, 'me', 0, 15_000)).toBe(true);
    const mine = lease('me', '2026-01-01T00:00:00Z');
    seen.observe(mine, 0);
    expect(seen.mayTake(mine, 'me', 0, 15_000)).toBe(true);
  });

  it("waits out another holder's lease, measured from when this process saw the record change", () => {
    const seen = new LeaseObservation();
    // the renewTime is far in the past on our clock (skew): it is compared, never subtracted
    const held = lease('other', '2020-01-01T00:00:00Z');
    seen.observe(held, 1_000_000);
    expect(seen.mayTake(held, 'me', 1_000_000, 15_000)).toBe(false);
    seen.observe(held, 1_014_999);
    expect(seen.mayTake(held, 'me', 1_014_999, 15_000)).toBe(false);
    // renewed: the wait starts again
    const renewed = lease('other', '2020-01-01T00:00:02Z');
    seen.observe(renewed, 1_014_999);
    expect(seen.mayTake(renewed, 'me', 1_020_000, 15_000)).toBe(false);
    seen.observe(renewed, 1_030_000);
    expect(seen.mayTake(renewed, 'me', 1_030_000, 15_000)).toBe(true);
  });

  it("uses the Lease's own duration, and the fallback when it names none", () => {
    const seen = new LeaseObservation();
    const short: V1Lease = {
      spec: { holderIdentity: 'other', leaseDurationSeconds: 1 },
    };
    seen.observe(short, 0);
    expect(seen.mayTake(short, 'me', 999, 15_000)).toBe(false);
    expect(seen.mayTake(short, 'me', 1000, 15_000)).toBe(true);
    const none: V1Lease = { spec: { holderIdentity: 'third' } };
    seen.observe(none, 5000);
    expect(seen.mayTake(none, 'me', 19_999, 15_000)).toBe(false);
    expect(seen.mayTake(none, 'me', 20_000, 15_000)).toBe(true);
  });
});
