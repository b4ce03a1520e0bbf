import type { RestorePlan } from '@kube-restore/core';
import { formatPlan } from './plan';

const plan = (verification?: Record<string, number>): RestorePlan => ({
  name: 'r1',
  namespace: 'team-a',
  size: {
    objects: 6,
    bytes: 6000,
    archived: {},
    archivedObjects: 0,
    archivedBytes: 0,
    thawCost: [],
    diskBytes: 30000,
    recommendedSize: '1Gi',
    estimated: false,
    largestObjectBytes: 2000,
    verification,
  },
  pvc: { name: 'data', namespace: 'team-a', exists: false },
  access: [],
  problems: [],
});

describe('formatPlan', () => {
  it('says how the objects will be verified, most first', () => {
    const text = formatPlan(
      plan({ 'size only': 1, CRC64NVME: 3, 'MD5 (multipart ETag)': 1, MD5: 1 }),
      's3://datasets/team-a/',
    );
    expect(text).toContain(
      'Verified by:      CRC64NVME: 3, MD5: 1, MD5 (multipart ETag): 1, size only: 1\n',
    );
  });

  it('leaves the line out when the sizer did not say', () => {
    expect(formatPlan(plan(), 's3://datasets/team-a/')).not.toContain(
      'Verified by',
    );
  });
});
