import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { SourceSize, parseRestoreRequest } from '@kube-restore/common';
import { readRestoreConfig } from '../config';
import { RestorePolicy, countedBytes } from './policy';

const GiB = 2 ** 30;
const policy = new RestorePolicy(
  readRestoreConfig(
    new ConfigReader({
      kubeRestore: {
        clusters: [{ name: 'c', url: 'https://k8s', serviceAccountToken: 't' }],
        sources: [{ name: 's', bucket: 'backups', prefix: '${namespace}/' }],
        limits: { maxBytesPerRestore: '10Gi' },
        approval: {
          rules: [
            {
              name: 'large',
              aboveBytes: '2Gi',
              approvers: ['group:default/sre'],
            },
          ],
        },
      },
    }),
  ),
  mockServices.userInfo(),
);

const archive = parseRestoreRequest({
  source: { bucket: 'backups', key: 'team-a/db.tar.gz', format: 'tar' },
  target: { namespace: 'team-a', pvc: 'db' },
});

function size(
  bytes: number,
  diskBytes: number,
  estimated: boolean,
): SourceSize {
  return {
    objects: 1,
    bytes,
    diskBytes,
    estimated,
    archived: {},
    archivedObjects: 0,
    archivedBytes: 0,
    thawCost: [],
    recommendedSize: '1Gi',
    largestObjectBytes: bytes,
  };
}

describe('RestorePolicy: sizes that limits count', () => {
  it('a compressed archive counts at its estimated unpacked size, and the reason says it is an estimate', () => {
    const estimated = size(1 * GiB, 3 * GiB, true);
    expect(countedBytes(estimated)).toBe(3 * GiB);
    expect(policy.approvalReasons(archive, estimated)).toEqual([
      {
        rule: 'large',
        reason:
          'restores about 3.00 GiB unpacked (estimated from a compressed archive of 1.00 GiB), more than 2Gi',
        approvers: ['group:default/sre'],
      },
    ]);
    // the same compressed bytes with a known size need no approval
    expect(
      policy.approvalReasons(archive, size(1 * GiB, 1 * GiB, false)),
    ).toEqual([]);
  });

  it('maxBytesPerRestore bounds the estimated unpacked size and an explicit PVC size', () => {
    expect(policy.sizeProblems(archive, size(4 * GiB, 12 * GiB, true))).toEqual(
      [
        'it restores about 12.0 GiB unpacked (estimated from a compressed archive of 4.00 GiB), more than the limit of 10Gi per restore (kubeRestore.limits.maxBytesPerRestore)',
      ],
    );
    const explicit = parseRestoreRequest({
      source: { bucket: 'backups', prefix: 'team-a/' },
      target: { namespace: 'team-a', pvc: 'db', size: '20Gi' },
    });
    expect(policy.sizeProblems(explicit, undefined)).toEqual([
      'it asks for a PVC of 20Gi, more than the limit of 10Gi per restore (kubeRestore.limits.maxBytesPerRestore)',
    ]);
    expect(
      policy.sizeProblems(
        parseRestoreRequest({
          source: { bucket: 'backups', prefix: 'team-a/' },
          target: { namespace: 'team-a', pvc: 'db', size: '10Gi' },
        }),
        undefined,
      ),
    ).toEqual([]);
  });
});
