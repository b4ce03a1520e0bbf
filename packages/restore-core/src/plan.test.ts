/**
 * planRestore's verdicts with the fake API calls (__testUtils__/fakeCluster.ts) and a fake S3 client:
 * which problems stop a create, and the PVC size it would ask for. Against a real cluster and MinIO:
 * test/e2e kubectl.test.ts (`kubectl restore plan`).
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  ANNOTATION_CREATED_BY,
  parseRestoreRequest,
  RestoreRequestInput,
} from '@kube-restore/common';
import { buildRestoreManifests } from './manifests';
import { planRestore } from './plan';
import { apiError, FakeCluster } from './__testUtils__/fakeCluster';

const GiB = 2 ** 30;

/** An S3 client whose one listing page holds `objects` (or which fails with `error`). */
function s3(
  objects: Array<{ size: number; storageClass?: string }>,
  error?: unknown,
) {
  return {
    async send(command: ListObjectsV2Command) {
      if (error) throw error;
      const prefix = (command.input.Prefix as string) ?? '';
      return {
        Contents: objects.map((o, i) => ({
          Key: `${prefix}${i}.bin`,
          Size: o.size,
          StorageClass: o.storageClass,
        })),
        IsTruncated: false,
      };
    },
    destroy() {},
  } as unknown as S3Client;
}

const input: RestoreRequestInput = {
  source: { bucket: 'datasets', prefix: 'team-a/' },
  target: { namespace: 'team-a', pvc: 'data', size: '10Gi' },
};
const existingInput: RestoreRequestInput = {
  ...input,
  target: { namespace: 'team-a', pvc: 'data', mode: 'existing' },
};

let cluster: FakeCluster;
beforeEach(() => {
  cluster = new FakeCluster();
});

async function plan(
  requestInput: RestoreRequestInput,
  client: S3Client = s3([{ size: GiB }]),
) {
  return planRestore(cluster.clients(), parseRestoreRequest(requestInput), {
    client,
  });
}

describe('planRestore', () => {
  it('a restore that can go ahead: no problems, the size asked for, every right checked', async () => {
    const p = await plan(input);
    expect(p.problems).toEqual([]);
    expect(p).toMatchObject({
      namespace: 'team-a',
      name: buildRestoreManifests(parseRestoreRequest(input)).name,
      pvcSize: '10Gi',
      pvc: { name: 'data', namespace: 'team-a', exists: false },
      size: { objects: 1, bytes: GiB },
    });
    expect(p.access.length).toBeGreaterThan(0);
    expect(p.access.every(a => a.allowed)).toBe(true);
  });

  it('size auto asks for the recommended size', async () => {
    const p = await plan({
      ...input,
      target: { namespace: 'team-a', pvc: 'data', size: 'auto' },
    });
    expect(p.pvcSize).toBe(p.size!.recommendedSize);
    expect(p.pvcSize).toBe('2Gi');
  });

  it('a source that cannot be read is a problem, and leaves an auto size unknown', async () => {
    const p = await plan(
      { ...input, target: { namespace: 'team-a', pvc: 'data' } },
      s3(
        [],
        Object.assign(new Error('AccessDenied'), {
          name: 'AccessDenied',
          $metadata: { httpStatusCode: 403 },
        }),
      ),
    );
    expect(p.sourceError).toBe(
      'the credentials may not read bucket "datasets" (AccessDenied)',
    );
    expect(p.problems).toEqual([
      'the source cannot be read: the credentials may not read bucket "datasets" (AccessDenied)',
    ]);
    expect(p.pvcSize).toBeUndefined();
  });

  it('an empty source is a problem unless allowEmpty', async () => {
    expect((await plan(input, s3([]))).problems).toEqual([
      'no object matches the source and filters',
    ]);
    expect(
      (await plan({ ...input, options: { allowEmpty: true } }, s3([])))
        .problems,
    ).toEqual([]);
  });

  it('archived objects are a problem without an archive tier', async () => {
    const archived = s3([{ size: 5, storageClass: 'GLACIER' }, { size: 5 }]);
    expect((await plan(input, archived)).problems).toEqual([
      '1 object(s) are archived: choose an archive tier to thaw them',
    ]);
    expect(
      (
        await plan(
          {
            ...input,
            source: { ...input.source, archive: { tier: 'Bulk' } },
          },
          archived,
        )
      ).problems,
    ).toEqual([]);
  });

  it('a PVC smaller than the data is a problem, new or existing', async () => {
    const big = s3([{ size: 12 * GiB }]);
    expect((await plan(input, big)).problems).toEqual([
      `a PVC of 10Gi is smaller than the data (about ${12 * GiB + 256} bytes on disk)`,
    ]);
    cluster.put('pvcs', {
      metadata: { namespace: 'team-a', name: 'data' },
      spec: { resources: { requests: { storage: '20Gi' } } },
      status: { capacity: { storage: '5Gi' }, phase: 'Bound' },
    });
    const p = await plan(existingInput, big);
    expect(p.pvc).toMatchObject({
      exists: true,
      capacity: '5Gi',
      phase: 'Bound',
    });
    expect(p.problems).toEqual([
      `PVC "data" (5Gi) is smaller than the data (about ${12 * GiB + 256} bytes on disk)`,
    ]);
  });

  it('a new PVC that exists already is a problem unless this restore created it', async () => {
    cluster.put('pvcs', { metadata: { namespace: 'team-a', name: 'data' } });
    expect((await plan(input)).problems).toEqual([
      'PVC "data" already exists in namespace team-a; restore into it with --existing-pvc or choose another name',
    ]);
    const name = buildRestoreManifests(parseRestoreRequest(input)).name;
    cluster.put('pvcs', {
      metadata: {
        namespace: 'team-a',
        name: 'data',
        annotations: { [ANNOTATION_CREATED_BY]: name },
      },
    });
    expect((await plan(input)).problems).toEqual([]);
  });

  it('an existing PVC that is not there is a problem', async () => {
    expect((await plan(existingInput)).problems).toEqual([
      'PVC "data" not found in namespace team-a',
    ]);
  });

  it('a PVC that cannot be read is a problem, not a crash', async () => {
    cluster.failNext('readPvc', apiError(403, 'forbidden'));
    const p = await plan(input);
    expect(p.pvc).toMatchObject({ exists: false });
    expect(p.pvc.error).toMatch(/^forbidden: this identity may not get/);
    expect(p.problems).toEqual([
      `the target PVC cannot be read: ${p.pvc.error}`,
    ]);
  });

  it('names every right this identity lacks', async () => {
    cluster.denied.add('create jobs');
    cluster.denied.add('get pods/log');
    expect((await plan(input)).problems).toEqual([
      'this identity may not create jobs, get pods/log in namespace team-a',
    ]);
  });

  it('says whether the data fits: the new PVC size, or the existing PVC capacity; unknown without either', async () => {
    expect((await plan(input)).fits).toBe(true);
    expect((await plan(input, s3([{ size: 12 * GiB }]))).fits).toBe(false);
    expect(
      (await plan(input, s3([], new Error('no such bucket')))).fits,
    ).toBeUndefined();
    cluster.put('pvcs', {
      metadata: { namespace: 'team-a', name: 'data' },
      status: { capacity: { storage: '5Gi' } },
    });
    expect((await plan(existingInput)).fits).toBe(true);
    expect((await plan(existingInput, s3([{ size: 6 * GiB }]))).fits).toBe(
      false,
    );
  });

  it('access checks that cannot be made are a problem, not a crash: the rest of the plan stands', async () => {
    cluster.failNext('accessReview', apiError(503, 'etcd is down'));
    const p = await plan(input);
    expect(p.access).toEqual([]);
    expect(p.accessError).toMatch(/selfsubjectaccessreviews/);
    expect(p.problems).toEqual([
      `the access checks could not be made: ${p.accessError}`,
    ]);
    expect(p).toMatchObject({
      pvcSize: '10Gi',
      fits: true,
      size: { bytes: GiB },
    });
  });
});
