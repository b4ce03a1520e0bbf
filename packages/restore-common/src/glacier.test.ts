import { estimateThawCost } from './glacier';

describe('estimateThawCost', () => {
  it('prices Flexible Retrieval per GB and per 1,000 requests', () => {
    const estimates = estimateThawCost({
      GLACIER: { objects: 15_000_000, bytes: 102_400e9 },
    });
    // AWS's own worked example: 15M objects, 102,400 GB.
    expect(estimates.find(e => e.tier === 'Standard')).toMatchObject({
      usd: 1774,
      available: true,
    });
    expect(estimates.find(e => e.tier === 'Expedited')).toMatchObject({
      usd: 153072,
      available: true,
    });
    expect(estimates.find(e => e.tier === 'Bulk')).toMatchObject({
      usd: 0,
      available: true,
    });
  });

  it('marks Expedited unavailable for Deep Archive and adds classes up', () => {
    const estimates = estimateThawCost({
      DEEP_ARCHIVE: { objects: 1000, bytes: 1e12 },
      GLACIER: { objects: 1000, bytes: 1e12 },
    });
    expect(estimates.find(e => e.tier === 'Expedited')?.available).toBe(false);
    expect(estimates.find(e => e.tier === 'Standard')?.usd).toBeCloseTo(
      20 + 0.1 + 10 + 0.05,
      2,
    );
    expect(estimates.find(e => e.tier === 'Bulk')?.usd).toBeCloseTo(
      2.5 + 0.025,
      2,
    );
  });
});
