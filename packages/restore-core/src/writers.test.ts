/**
 * A second restore into a PVC that a live restore targets is refused before anything is created,
 * naming the first; once the first ended (Complete or Failed) it may go. Against the in-memory fake
 * of the API calls (__testUtils__/fakeCluster.ts): the check is a read and a decision. No cluster
 * test yet (test/cluster is being rebuilt); the job's own claim on the volume is tested on real
 * files (job-image safety.minio.test.ts).
 */
import { parseRestoreRequest } from '@kube-restore/common';
import { ANNOTATION_RESUME_BY } from './interrupted';
import { buildRestoreManifests } from './manifests';
import { createRestore } from './restores';
import { isLiveJob, liveWriterOf } from './writers';
import { FakeCluster } from './__testUtils__/fakeCluster';

const into = (name: string, pvc = 'shared') =>
  parseRestoreRequest({
    name,
    source: { bucket: 'datasets', prefix: `${name}/` },
    target: {
      namespace: 'team-a',
      pvc,
      mode: 'existing',
      conflict: 'overwrite',
    },
  });
const jobOf = (name: string, pvc = 'shared') =>
  buildRestoreManifests(into(name, pvc)).job;
const ended = (type: 'Complete' | 'Failed') => ({
  conditions: [{ type, status: 'True' }],
});

describe('liveWriterOf', () => {
  it('finds a live restore of the same PVC, not itself, another PVC or an ended one', () => {
    const jobs = [
      jobOf('other-pvc', 'elsewhere'),
      { ...jobOf('done'), status: ended('Complete') },
      { ...jobOf('failed'), status: ended('Failed') },
      jobOf('me'),
    ];
    expect(liveWriterOf(jobs, 'shared', 'me')).toBeUndefined();
    expect(liveWriterOf([...jobs, jobOf('first')], 'shared', 'me')).toBe(
      'first',
    );
    expect(
      isLiveJob({
        status: { conditions: [{ type: 'Complete', status: 'False' }] },
      } as never),
    ).toBe(true);
  });
});

describe('createRestore: one restore per PVC', () => {
  let cluster: FakeCluster;
  beforeEach(() => {
    cluster = new FakeCluster();
    cluster.put('pvcs', {
      metadata: { namespace: 'team-a', name: 'shared' },
    });
  });

  it('refuses a second restore while the first is live, naming it, and creates nothing', async () => {
    await createRestore(cluster.clients(), into('first'));
    cluster.calls.length = 0;
    await expect(
      createRestore(cluster.clients(), into('second')),
    ).rejects.toMatchObject({
      kind: 'Conflict',
      message: expect.stringContaining('is being restored by restore "first"'),
    });
    expect(cluster.calls.filter(c => /^(create|patch)/.test(c.method))).toEqual(
      [],
    );
  });

  it('lets the second go once the first ended', async () => {
    await createRestore(cluster.clients(), into('first'));
    const first = cluster.get('jobs', 'team-a', 'first');
    cluster.put('jobs', { ...first, status: ended('Complete') });
    const result = await createRestore(cluster.clients(), into('second'));
    expect(result.created).toBe(true);
  });

  it('an abandoned create does not hold the PVC: it is deleted, and the second goes', async () => {
    const m = buildRestoreManifests(into('first'));
    cluster.put('jobs', {
      ...m.job,
      metadata: {
        ...m.job.metadata,
        annotations: {
          ...m.job.metadata!.annotations,
          [ANNOTATION_RESUME_BY]: '2020-01-01T00:00:00Z',
        },
      },
      spec: { ...m.job.spec!, suspend: true },
    });
    const result = await createRestore(cluster.clients(), into('second'));
    expect(result.created).toBe(true);
    expect(cluster.get('jobs', 'team-a', 'first')).toBeUndefined();
  });
});
