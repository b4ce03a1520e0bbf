/**
 * Creates interrupted between the suspended Job and its resume end: the next create with keys in
 * the namespace deletes a Job whose resume-by time has passed (its Secret goes with it). Against the
 * in-memory fake of the API calls (the logic is the order and choice of calls); no cluster test
 * kills a caller between two calls.
 */
import { parseRestoreRequest } from '@kube-restore/common';
import type { V1Job } from '@kubernetes/client-node';
import { buildRestoreManifests } from './manifests';
import {
  ANNOTATION_RESUME_BY,
  isAbandonedCreate,
  resumeBy,
} from './interrupted';
import { createRestore } from './restores';
import { FakeCluster } from './__testUtils__/fakeCluster';

const keys = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'very-secret' };
const requestFor = (prefix: string) =>
  parseRestoreRequest({
    source: { bucket: 'datasets', prefix },
    target: {
      namespace: 'team-a',
      pvc: `pvc-${prefix.slice(0, -1)}`,
      size: '1Gi',
    },
  });

/** What a caller killed right after creating the Secret leaves: a suspended Job and its Secret. */
function interrupted(
  cluster: FakeCluster,
  prefix: string,
  resumeByTime: string,
) {
  const m = buildRestoreManifests(requestFor(prefix), { credentials: keys });
  cluster.put('pvcs', m.pvc!);
  cluster.put('jobs', {
    ...m.job,
    metadata: {
      ...m.job.metadata,
      annotations: {
        ...m.job.metadata!.annotations,
        [ANNOTATION_RESUME_BY]: resumeByTime,
      },
    },
    spec: { ...m.job.spec!, suspend: true },
  });
  cluster.put('secrets', m.secret!);
  return m.name;
}

describe('isAbandonedCreate', () => {
  const now = Date.parse('2026-12-05T12:00:00Z');
  const job = (suspend: boolean | undefined, by?: string): V1Job => ({
    metadata: {
      annotations: by ? { [ANNOTATION_RESUME_BY]: by } : {},
    },
    spec: { suspend, template: {} },
  });
  it.each([
    [true, '2026-12-05T11:59:59Z', true],
    [true, '2026-12-05T12:00:01Z', false],
    [false, '2026-12-05T11:00:00Z', false],
    [undefined, '2026-12-05T11:00:00Z', false],
    [true, undefined, false],
    [true, 'not a time', false],
  ])('suspend %s, resume-by %s: %s', (suspend, by, abandoned) => {
    expect(isAbandonedCreate(job(suspend, by), now)).toBe(abandoned);
  });
  it('gives a create ten minutes', () => {
    expect(resumeBy(now)).toBe('2026-12-05T12:10:00.000Z');
  });
});

describe('createRestore and interrupted creates', () => {
  it('marks the suspended Job with a resume-by time; the resume changes nothing else', async () => {
    const cluster = new FakeCluster();
    const before = Date.now();
    await createRestore(cluster.clients(), requestFor('a/'), {
      credentials: keys,
    });
    const created = cluster.calls.find(c => c.method === 'createJob')!.body;
    expect(created.spec.suspend).toBe(true);
    const by = Date.parse(created.metadata.annotations[ANNOTATION_RESUME_BY]);
    expect(by).toBeGreaterThanOrEqual(before + 10 * 60_000);
    // The resume changes spec.suspend only (deploy/policy admits nothing else).
    expect(cluster.calls.find(c => c.method === 'patchJob')!.body).toEqual({
      spec: { suspend: false },
    });
  });

  it('the next create with keys deletes an abandoned one (its Secret goes with it), not a fresh one or a running one', async () => {
    const cluster = new FakeCluster();
    const abandoned = interrupted(cluster, 'old/', '2020-01-01T00:00:00Z');
    const fresh = interrupted(
      cluster,
      'fresh/',
      new Date(Date.now() + 60_000).toISOString(),
    );
    const running = buildRestoreManifests(requestFor('running/')).job;
    cluster.put('jobs', running);
    await createRestore(cluster.clients(), requestFor('new/'), {
      credentials: keys,
    });
    const deletes = cluster.calls.filter(c => c.method === 'deleteJob');
    expect(deletes).toEqual([
      {
        method: 'deleteJob',
        namespace: 'team-a',
        name: abandoned,
        body: { propagationPolicy: 'Background' },
      },
    ]);
    expect(cluster.get('jobs', 'team-a', fresh)).toBeDefined();
    expect(
      cluster.get('jobs', 'team-a', running.metadata!.name!),
    ).toBeDefined();
  });

  it('a caller that may not list Jobs still creates its restore', async () => {
    const cluster = new FakeCluster();
    cluster.failNext('listJobs', new Error('forbidden'));
    const result = await createRestore(cluster.clients(), requestFor('a/'), {
      credentials: keys,
    });
    expect(result.created).toBe(true);
  });
});
