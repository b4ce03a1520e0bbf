/**
 * createRestore, getRestore, listRestores, deleteRestore, restoreEvents and restoreLogs against
 * an in-memory fake of the API calls (__testUtils__/fakeCluster.ts): the order of the calls,
 * what is undone when a step fails, idempotency, and how API errors reach the caller. The same calls
 * against a real API server: test/e2e core.test.ts and rbac.test.ts.
 */
import {
  ANNOTATION_CREATED_BY,
  encodeLogLine,
  encodeProgressLine,
  parseRestoreRequest,
  RestoreRequestInput,
} from '@kube-restore/common';
import { RestoreError } from './errors';
import { buildRestoreManifests } from './manifests';
import { createRestore, deleteRestore } from './restores';
import {
  getRestore,
  listRestores,
  restoreEvents,
  restoreLogs,
} from './readRestores';
import { apiError, FakeCluster } from './__testUtils__/fakeCluster';

const input: RestoreRequestInput = {
  source: { bucket: 'datasets', prefix: 'team-a/train/' },
  target: { namespace: 'team-a', pvc: 'train-data', size: '10Gi' },
};
const request = parseRestoreRequest(input);
const keys = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'very-secret' };
const NAME = buildRestoreManifests(request).name;

let cluster: FakeCluster;
beforeEach(() => {
  cluster = new FakeCluster();
});

function pod(name: string, phase: string, created: string) {
  return {
    metadata: {
      name,
      namespace: 'team-a',
      creationTimestamp: created as unknown as Date,
      labels: { 'kube-restore.io/restore': NAME },
    },
    status: {
      phase,
      ...(phase === 'Running'
        ? {
            containerStatuses: [
              {
                name: 'restore',
                state: { running: {} },
              },
            ],
          }
        : {}),
    },
  } as never;
}

describe('createRestore', () => {
  it('creates the PVC, then the Job, and reads the status back', async () => {
    const result = await createRestore(cluster.clients(), request);
    expect(result.created).toBe(true);
    expect(cluster.callNames()).toEqual([
      `readJob team-a/${NAME}`,
      'readPvc team-a/train-data',
      'listJobs', // no other live restore targets the PVC (writers.test.ts)
      'readLease team-a/kube-restore-pvc-train-data', // one writer per PVC (pvcLease.test.ts)
      'createLease team-a/kube-restore-pvc-train-data',
      'createPvc team-a/train-data',
      `createJob team-a/${NAME}`,
      'replaceLease team-a/kube-restore-pvc-train-data', // bound to the Job
      `readJob team-a/${NAME}`,
      'listPods',
    ]);
    expect(cluster.get('jobs', 'team-a', NAME).spec.suspend).toBeUndefined();
    expect(result.status).toMatchObject({
      name: NAME,
      namespace: 'team-a',
      phase: 'Pending',
      pvc: 'train-data',
    });
  });

  it('with keys: a suspended Job, then the Secret owned by that Job (its uid), then the Job resumed', async () => {
    await createRestore(cluster.clients(), request, { credentials: keys });
    const names = cluster.callNames();
    expect(names.slice(2, 10)).toEqual([
      'listJobs', // abandoned creates end, one writer per PVC (interrupted, writers)
      'readLease team-a/kube-restore-pvc-train-data',
      'createLease team-a/kube-restore-pvc-train-data',
      'createPvc team-a/train-data',
      `createJob team-a/${NAME}`,
      'replaceLease team-a/kube-restore-pvc-train-data',
      `createSecret team-a/${NAME}-credentials`,
      `patchJob team-a/${NAME}`,
    ]);
    const createJob = cluster.calls.find(c => c.method === 'createJob')!;
    expect(createJob.body.spec.suspend).toBe(true);
    const job = cluster.get('jobs', 'team-a', NAME);
    const secret = cluster.get('secrets', 'team-a', `${NAME}-credentials`);
    expect(secret.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        name: NAME,
        uid: job.metadata.uid,
        controller: true,
        blockOwnerDeletion: false,
      },
    ]);
    expect(secret.stringData).toMatchObject({
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'very-secret',
    });
    expect(job.spec.suspend).toBe(false);
    expect(JSON.stringify(job)).not.toContain('very-secret');
  });

  it('is idempotent: the same request again returns the existing restore and creates nothing', async () => {
    await createRestore(cluster.clients(), request, { credentials: keys });
    cluster.calls.length = 0;
    const again = await createRestore(cluster.clients(), request, {
      credentials: keys,
    });
    expect(again.created).toBe(false);
    expect(again.status.name).toBe(NAME);
    expect(
      cluster.calls.filter(c => /^(create|patch|delete)/.test(c.method)),
    ).toEqual([]);
  });

  it('refuses the same name with a different request (Conflict), creating nothing', async () => {
    const named = parseRestoreRequest({ ...input, name: 'nightly' });
    await createRestore(cluster.clients(), named);
    cluster.calls.length = 0;
    const other = parseRestoreRequest({
      ...input,
      name: 'nightly',
      source: { bucket: 'datasets', prefix: 'team-b/' },
    });
    await expect(createRestore(cluster.clients(), other)).rejects.toEqual(
      new RestoreError(
        'Conflict',
        'a restore named "nightly" already exists in namespace team-a with a different request; choose another name or delete it first',
      ),
    );
    expect(cluster.callNames()).toEqual(['readJob team-a/nightly']);
  });

  it('finishes a create that stopped half-way (suspended Job, Secret already there)', async () => {
    cluster.failNext('patchJob', apiError(503, 'etcd leader changed'));
    await expect(
      createRestore(cluster.clients(), request, { credentials: keys }),
    ).rejects.toMatchObject({ kind: 'Unavailable' });
    // a failed call undoes its Job and PVC (the API server collects the Secret with its Job)
    expect(cluster.objects.jobs.size).toBe(0);
    expect(cluster.objects.pvcs.size).toBe(0);
    // a process killed at that point undoes nothing: it leaves the PVC, a suspended Job and its Secret
    const m = buildRestoreManifests(request, { credentials: keys });
    cluster.put('pvcs', m.pvc!);
    cluster.put('jobs', {
      ...m.job,
      spec: { ...m.job.spec!, suspend: true },
    });
    cluster.put('secrets', m.secret!);
    cluster.calls.length = 0;
    const result = await createRestore(cluster.clients(), request, {
      credentials: keys,
    });
    expect(result.created).toBe(true);
    expect(cluster.callNames().filter(n => !n.startsWith('read'))).toEqual([
      // the failed create gave the PVC's Lease back; this one takes it and binds it to the Job
      'replaceLease team-a/kube-restore-pvc-train-data',
      'replaceLease team-a/kube-restore-pvc-train-data',
      `createSecret team-a/${NAME}-credentials`,
      `patchJob team-a/${NAME}`,
      'listPods',
    ]);
    expect(cluster.get('jobs', 'team-a', NAME).spec.suspend).toBe(false);
  });

  it('undoes what it created when a later step fails, newest first, and says why', async () => {
    cluster.failNext(
      'createSecret',
      apiError(403, 'secrets is forbidden: User "x" cannot create'),
    );
    const error = await createRestore(cluster.clients(), request, {
      credentials: keys,
    }).catch(e => e);
    expect(error).toBeInstanceOf(RestoreError);
    expect(error).toMatchObject({ kind: 'Forbidden', statusCode: 403 });
    expect(error.message).toMatch(
      /^forbidden: this identity may not create secrets in namespace team-a; /,
    );
    expect(cluster.callNames().slice(-3)).toEqual([
      `deleteJob team-a/${NAME}`,
      'deletePvc team-a/train-data',
      'replaceLease team-a/kube-restore-pvc-train-data', // the PVC's Lease given back
    ]);
    expect(
      cluster.get('leases', 'team-a', 'kube-restore-pvc-train-data').spec
        .holderIdentity,
    ).toBeUndefined();
    expect(cluster.calls.find(c => c.method === 'deleteJob')!.body).toEqual({
      propagationPolicy: 'Background',
    });
    expect(cluster.objects.jobs.size + cluster.objects.pvcs.size).toBe(0);
  });

  it('keeps a PVC it did not create when the Job is refused (admission), and names the refusal', async () => {
    cluster.put('pvcs', {
      metadata: { namespace: 'team-a', name: 'shared' },
    });
    const existing = parseRestoreRequest({
      ...input,
      target: { namespace: 'team-a', pvc: 'shared', mode: 'existing' },
    });
    cluster.failNext(
      'createJob',
      apiError(
        403,
        'pods "x" is forbidden: violates PodSecurity "restricted:latest"',
      ),
    );
    await expect(
      createRestore(cluster.clients(), existing),
    ).rejects.toMatchObject({
      kind: 'Rejected',
      message: expect.stringContaining('violates PodSecurity'),
    });
    expect(cluster.get('pvcs', 'team-a', 'shared')).toBeDefined();
    expect(cluster.calls.filter(c => c.method.startsWith('delete'))).toEqual(
      [],
    );
  });

  it('never takes over a PVC it did not create for a new-PVC restore', async () => {
    cluster.put('pvcs', {
      metadata: { namespace: 'team-a', name: 'train-data', annotations: {} },
    });
    await expect(createRestore(cluster.clients(), request)).rejects.toEqual(
      expect.objectContaining({
        kind: 'Conflict',
        message: expect.stringMatching(
          /^PVC "train-data" already exists in namespace team-a and was not created by this restore; kube-restore never overwrites a volume/,
        ),
      }),
    );
    expect(cluster.calls.filter(c => c.method.startsWith('create'))).toEqual(
      [],
    );
  });

  it('uses the PVC it created itself on an earlier, interrupted attempt', async () => {
    cluster.put('pvcs', {
      metadata: {
        namespace: 'team-a',
        name: 'train-data',
        annotations: { [ANNOTATION_CREATED_BY]: NAME },
      },
    });
    const result = await createRestore(cluster.clients(), request);
    expect(result.created).toBe(true);
    expect(cluster.calls.some(c => c.method === 'createPvc')).toBe(false);
  });

  it('an existing-PVC restore of a PVC that is not there is NotFound, creating nothing', async () => {
    const existing = parseRestoreRequest({
      ...input,
      target: { namespace: 'team-a', pvc: 'gone', mode: 'existing' },
    });
    await expect(
      createRestore(cluster.clients(), existing),
    ).rejects.toMatchObject({
      kind: 'NotFound',
      message:
        'PVC "gone" not found in namespace team-a; create it first or restore into a new PVC',
    });
    expect(cluster.calls.filter(c => c.method.startsWith('create'))).toEqual(
      [],
    );
  });

  it('with dryRun server sends every object with dryRun=All, persists and resumes nothing', async () => {
    const result = await createRestore(cluster.clients(), request, {
      credentials: keys,
      dryRun: 'server',
    });
    expect(result.created).toBe(true);
    const creates = cluster.calls.filter(c => c.method.startsWith('create'));
    expect(creates.map(c => [c.method, c.dryRun])).toEqual([
      ['createPvc', 'All'],
      ['createJob', 'All'],
      ['createSecret', 'All'],
    ]);
    expect(cluster.calls.some(c => c.method === 'patchJob')).toBe(false);
    expect(
      cluster.objects.jobs.size +
        cluster.objects.pvcs.size +
        cluster.objects.secrets.size,
    ).toBe(0);
    expect(result.status).toMatchObject({ name: NAME, phase: 'Pending' });
  });

  it('an API server that cannot be reached is Unavailable naming the call', async () => {
    cluster.failNext(
      'readJob',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), {
        code: 'ECONNREFUSED',
      }),
    );
    await expect(
      createRestore(cluster.clients(), request),
    ).rejects.toMatchObject({ kind: 'Unavailable' });
  });
});

describe('getRestore, listRestores', () => {
  it('reads a restore with the progress of its running pod from the log tail', async () => {
    await createRestore(cluster.clients(), request);
    cluster.pods = [pod(`${NAME}-a`, 'Running', '2026-11-20T09:00:00Z')];
    cluster.logs[`${NAME}-a`] = [
      encodeLogLine('info', 'listing'),
      encodeProgressLine({
        phase: 'Restoring',
        objectsDone: 3,
        objectsTotal: 10,
        bytesDone: 300,
        bytesTotal: 1000,
      }),
      encodeLogLine('info', 'still going'),
      '',
    ].join('\n');
    const status = await getRestore(cluster.clients(), 'team-a', NAME);
    expect(status.pods).toEqual([`${NAME}-a`]);
    expect(status.phase).toBe('Restoring');
    expect(status.progress).toMatchObject({ objectsDone: 3, bytesDone: 300 });
    expect(cluster.calls.find(c => c.method === 'readPodLog')!.body).toEqual({
      container: 'restore',
      tailLines: 50,
    });
  });

  it('a pod log that cannot be read does not fail the status', async () => {
    await createRestore(cluster.clients(), request);
    cluster.pods = [pod(`${NAME}-a`, 'Running', '2026-11-20T09:00:00Z')];
    const status = await getRestore(cluster.clients(), 'team-a', NAME);
    expect(status.progress).toBeUndefined();
  });

  it('a missing restore and a Job kube-restore did not make are NotFound', async () => {
    await expect(
      getRestore(cluster.clients(), 'team-a', 'nope'),
    ).rejects.toEqual(
      new RestoreError(
        'NotFound',
        'restore "nope" not found in namespace team-a',
      ),
    );
    cluster.put('jobs', {
      metadata: { namespace: 'team-a', name: 'cron-1', labels: {} },
    });
    await expect(
      getRestore(cluster.clients(), 'team-a', 'cron-1'),
    ).rejects.toMatchObject({
      kind: 'NotFound',
      message: 'Job "cron-1" in namespace team-a is not a kube-restore restore',
    });
  });

  it('lists one namespace or all, with the caller selector ANDed, newest first', async () => {
    const a = buildRestoreManifests(
      parseRestoreRequest({ ...input, name: 'a' }),
    );
    const b = buildRestoreManifests(
      parseRestoreRequest({ ...input, name: 'b' }),
    );
    cluster.put('jobs', {
      ...a.job,
      metadata: {
        ...a.job.metadata,
        creationTimestamp: '2026-11-20T09:00:00Z',
      },
    });
    cluster.put('jobs', {
      ...b.job,
      metadata: {
        ...b.job.metadata,
        creationTimestamp: '2026-11-21T09:00:00Z',
      },
    });
    const list = await listRestores(cluster.clients(), {
      namespace: 'team-a',
      labelSelector: 'team=ml',
    });
    expect(list.map(s => s.name)).toEqual(['b', 'a']);
    expect(cluster.calls[0]).toMatchObject({
      method: 'listJobs',
      labelSelector:
        'app.kubernetes.io/managed-by=kube-restore,kube-restore.io/restore,team=ml',
    });
    expect(cluster.calls.some(c => c.method === 'readPodLog')).toBe(false);
    cluster.calls.length = 0;
    await listRestores(cluster.clients());
    expect(cluster.calls[0].method).toBe('listJobsAllNamespaces');
  });
});

describe('deleteRestore', () => {
  it('deletes the Job in the background and keeps the PVC unless asked', async () => {
    await createRestore(cluster.clients(), request);
    expect(await deleteRestore(cluster.clients(), 'team-a', NAME)).toEqual({
      job: NAME,
    });
    expect(cluster.objects.jobs.size).toBe(0);
    expect(cluster.get('pvcs', 'team-a', 'train-data')).toBeDefined();
    expect(cluster.calls.find(c => c.method === 'deleteJob')!.body).toEqual({
      propagationPolicy: 'Background',
    });
  });

  it('deletes the PVC when asked and only when this restore created it', async () => {
    await createRestore(cluster.clients(), request);
    expect(
      await deleteRestore(cluster.clients(), 'team-a', NAME, {
        deletePvc: true,
      }),
    ).toEqual({ job: NAME, pvc: 'train-data' });
    expect(cluster.objects.pvcs.size).toBe(0);

    const existing = parseRestoreRequest({
      ...input,
      target: { namespace: 'team-a', pvc: 'shared', mode: 'existing' },
    });
    cluster.put('pvcs', { metadata: { namespace: 'team-a', name: 'shared' } });
    const { manifests } = await createRestore(cluster.clients(), existing);
    await expect(
      deleteRestore(cluster.clients(), 'team-a', manifests.name, {
        deletePvc: true,
      }),
    ).rejects.toMatchObject({
      kind: 'Conflict',
      message:
        'the restore was deleted, but PVC "shared" was not created by it and is kept',
    });
    expect(cluster.get('pvcs', 'team-a', 'shared')).toBeDefined();
  });

  it('refuses to delete a Job kube-restore did not create', async () => {
    cluster.put('jobs', { metadata: { namespace: 'team-a', name: 'cron-1' } });
    await expect(
      deleteRestore(cluster.clients(), 'team-a', 'cron-1'),
    ).rejects.toMatchObject({ kind: 'Conflict' });
    expect(cluster.get('jobs', 'team-a', 'cron-1')).toBeDefined();
  });
});

describe('restoreEvents, restoreLogs', () => {
  it('events of the Job, its pods and its PVC only, oldest first', async () => {
    await createRestore(cluster.clients(), request);
    cluster.pods = [pod(`${NAME}-a`, 'Succeeded', '2026-11-20T09:00:00Z')];
    const event = (kind: string, name: string, at: string, reason: string) => ({
      metadata: { namespace: 'team-a' },
      involvedObject: { kind, name },
      lastTimestamp: at as unknown as Date,
      reason,
    });
    cluster.events = [
      event('Pod', `${NAME}-a`, '2026-11-20T09:00:03Z', 'Started'),
      event('Pod', 'someone-else', '2026-11-20T09:00:00Z', 'Noise'),
      event('Job', NAME, '2026-11-20T09:00:01Z', 'SuccessfulCreate'),
      event(
        'PersistentVolumeClaim',
        'train-data',
        '2026-11-20T09:00:02Z',
        'ProvisioningSucceeded',
      ),
      // objects of other kinds named like the PVC, the Job or the pod: not the restore's
      event('Deployment', 'train-data', '2026-11-20T09:00:04Z', 'ScalingUp'),
      event('Pod', NAME, '2026-11-20T09:00:05Z', 'Pulled'),
      event('PersistentVolumeClaim', `${NAME}-a`, '2026-11-20T09:00:06Z', 'X'),
    ];
    const events = await restoreEvents(cluster.clients(), 'team-a', NAME);
    expect(events.map(e => e.reason)).toEqual([
      'SuccessfulCreate',
      'ProvisioningSucceeded',
      'Started',
    ]);
    // each name's events are selected by the API server, not all of the namespace's
    expect(
      cluster.calls
        .filter(c => c.method === 'listEvents')
        .map(c => c.fieldSelector)
        .sort(),
    ).toEqual([
      `involvedObject.name=${NAME}`,
      `involvedObject.name=${NAME}-a`,
      'involvedObject.name=train-data',
    ]);
  });

  it("a finished populator restore (no Job left): its leftover events and its user's PVC's, not an earlier PVC's", async () => {
    const uid = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';
    const prime = `prime-${uid}`;
    const event = (
      name: string,
      objectUid: string | undefined,
      at: string,
      reason: string,
      kind = 'PersistentVolumeClaim',
    ) => ({
      metadata: { namespace: 'team-a' },
      involvedObject: { kind, name, uid: objectUid },
      lastTimestamp: at as unknown as Date,
      reason,
    });
    cluster.events = [
      event('data', uid, '2026-11-20T09:05:00Z', 'RestoreFinished'),
      // the PVC `data` that an earlier restore filled, deleted since: not this restore's
      event(
        'data',
        'e0a1b2c3-d4e5-4f60-8172-839405a6b7c8',
        '2026-11-19T09:00:00Z',
        'RestoreFinished',
      ),
      event('data', uid, '2026-11-20T09:00:00Z', 'RestoreStarted'),
      event(
        prime,
        'prime-pvc-uid',
        '2026-11-20T09:00:01Z',
        'ProvisioningSucceeded',
      ),
      event('someone-else', uid, '2026-11-20T09:00:02Z', 'Noise'),
      // a Pod named like the user's PVC, and a hand-made event with no uid: not the restore's
      event('data', uid, '2026-11-20T09:00:03Z', 'PodNoise', 'Pod'),
      event('data', undefined, '2026-11-20T09:00:04Z', 'Forged'),
      // the Job's events (it is gone) are; a Deployment of the Job's name is not
      event(prime, 'job-uid', '2026-11-20T09:04:00Z', 'Completed', 'Job'),
      event(prime, 'd-uid', '2026-11-20T09:04:01Z', 'ScalingUp', 'Deployment'),
    ];
    const events = await restoreEvents(cluster.clients(), 'team-a', prime, [
      'data',
    ]);
    expect(events.map(e => `${e.involvedObject.name} ${e.reason}`)).toEqual([
      'data RestoreStarted',
      `${prime} ProvisioningSucceeded`,
      `${prime} Completed`,
      'data RestoreFinished',
    ]);
    // a restore of another name that is not there is still NotFound
    await expect(
      restoreEvents(cluster.clients(), 'team-a', 'nightly', ['data']),
    ).rejects.toMatchObject({ kind: 'NotFound' });
  });

  it("the newest pod's log, or NotFound while there is no pod", async () => {
    await createRestore(cluster.clients(), request);
    await expect(
      restoreLogs(cluster.clients(), 'team-a', NAME),
    ).rejects.toMatchObject({
      kind: 'NotFound',
      message: `restore "${NAME}" has no pod yet (phase Pending)`,
    });
    cluster.pods = [
      pod(`${NAME}-a`, 'Failed', '2026-11-20T09:00:00Z'),
      pod(`${NAME}-b`, 'Running', '2026-11-20T09:01:00Z'),
    ];
    cluster.logs[`${NAME}-a`] = 'first\n';
    cluster.logs[`${NAME}-b`] = 'second\n';
    expect(await restoreLogs(cluster.clients(), 'team-a', NAME)).toEqual({
      pod: `${NAME}-b`,
      log: 'second\n',
    });
    expect(
      await restoreLogs(cluster.clients(), 'team-a', NAME, {
        pod: `${NAME}-a`,
      }),
    ).toEqual({ pod: `${NAME}-a`, log: 'first\n' });
  });
});
