/*
 * The populator on the real harness cluster (test/cluster): real apiserver, PV binder, scheduler and
 * kubelets, the `local` StorageClass (WaitForFirstConsumer) and MinIO. The populator runs in-process as
 * the ServiceAccount kube-restore/restore-populator with exactly the RBAC of deploy/populator.
 */
import {
  restrictedPodSpec,
  startCluster,
  Cluster,
  waitUntil,
} from '@kube-restore/test-cluster';
import type { KubeClients } from '@kube-restore/core';
import * as path from 'node:path';
import { NOT_OPTED_IN } from './reconcile';
import {
  createKeysSecret,
  installPopulator,
  KEYS_SECRET,
  populatedPvc,
  restoreSourceManifest,
  POPULATOR_DEPLOY,
  Kubectl,
  kubectlAs,
  seedBucket,
  startPopulator,
  TestPopulator,
  yamlDocs,
} from './__testUtils__/cluster';

const NS = 'team-a';
jest.setTimeout(600_000);

describe('the populator on real nodes', () => {
  let cluster: Cluster;
  let kubectl: Kubectl;
  let populator: TestPopulator;

  const getJson = async (...args: string[]) =>
    JSON.parse(await kubectl(['get', ...args, '-o', 'json']));
  const exists = async (...args: string[]) =>
    (
      await kubectl(['get', ...args, '--ignore-not-found', '-o', 'name'])
    ).trim() !== '';
  const pvcEvents = async (pvc: string, namespace = NS) =>
    (
      await getJson(
        'events',
        '-n',
        namespace,
        '--field-selector',
        `involvedObject.name=${pvc},involvedObject.kind=PersistentVolumeClaim`,
      )
    ).items as {
      reason: string;
      message: string;
      type: string;
      reportingComponent?: string;
    }[];

  const restoreSource = (name: string, bucket: string, options = {}) =>
    restoreSourceManifest(NS, name, cluster.s3!.endpoint, bucket, options);
  const pvc = (name: string, source: string) => populatedPvc(NS, name, source);
  const readerPod = (name: string, claim: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: restrictedPodSpec({ stub: ['--cat', 'hello.txt'], pvc: claim }),
  });

  let clients: KubeClients;

  beforeAll(async () => {
    cluster = await startCluster();
    kubectl = kubectlAs(cluster, cluster.kubeconfig.admin);
    clients = await installPopulator(cluster, kubectl, NS);
    await seedBucket(cluster, 'pop-data', {
      'set/hello.txt': 'hello from s3\n',
      'set/sub/more.txt': 'more',
    });
    await seedBucket(cluster, 'pop-slow', {
      'set/hello.txt': 'slow\n',
      'set/big.bin': Buffer.alloc(4 << 20, 7),
    });
    await createKeysSecret(cluster, kubectl, NS);
    populator = startPopulator(clients);
  });

  afterAll(async () => {
    await populator?.stop();
    await cluster?.stop();
  });

  it('RBAC: cluster-wide only PVC watch/patch and PV get/patch; restores only where a namespace opted in', async () => {
    const sa = 'system:serviceaccount:kube-restore:restore-populator';
    const can = async (...args: string[]) =>
      (
        await kubectl(['auth', 'can-i', '--as', sa, ...args]).catch(e =>
          String(e),
        )
      )
        .trim()
        .endsWith('yes');
    expect(
      await can('watch', 'persistentvolumeclaims', '--all-namespaces'),
    ).toBe(true);
    expect(await can('patch', 'persistentvolumeclaims', '-n', 'team-b')).toBe(
      true,
    );
    expect(await can('patch', 'persistentvolumes')).toBe(true);
    expect(await can('delete', 'persistentvolumes')).toBe(false);
    expect(await can('create', 'persistentvolumeclaims', '-n', 'team-b')).toBe(
      false,
    );
    for (const verb of ['create', 'delete']) {
      expect(await can(verb, 'jobs.batch', '-n', NS)).toBe(true);
      expect(await can(verb, 'jobs.batch', '-n', 'team-b')).toBe(false);
    }
    expect(
      await can('get', 'restoresources.kube-restore.io', '-n', 'team-b'),
    ).toBe(false);
    expect(
      await can(
        'patch',
        'restoresources.kube-restore.io',
        '--subresource=status',
        '-n',
        NS,
      ),
    ).toBe(true);
    // the credentials Secret a RestoreSource names is read to size the source, only where opted in
    expect(await can('get', 'secrets', '-n', NS)).toBe(true);
    expect(await can('get', 'secrets', '-n', 'team-b')).toBe(false);
    expect(await can('list', 'secrets', '-n', NS)).toBe(false);
    // leader election: its own Lease in its own namespace, nothing more
    const lease = 'leases.coordination.k8s.io';
    const own = '-n=kube-restore';
    expect(await can('create', lease, own)).toBe(true);
    expect(await can('update', `${lease}/kube-restore-populator`, own)).toBe(
      true,
    );
    expect(await can('update', `${lease}/another`, own)).toBe(false);
    expect(await can('delete', `${lease}/kube-restore-populator`, own)).toBe(
      false,
    );
    expect(await can('create', lease, '-n', 'team-b')).toBe(false);
  });

  it('a PVC naming a RestoreSource comes up holding the data: the pod that mounts it reads it', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      yamlDocs(
        restoreSource('seed', 'pop-data'),
        pvc('data', 'seed'),
        readerPod('reader', 'data'),
      ),
    );
    const pod = await waitUntil(
      'the reader pod to end',
      async () => {
        const p = await getJson('pod', 'reader', '-n', NS);
        return ['Succeeded', 'Failed'].includes(p.status.phase) ? p : undefined;
      },
      240_000,
      1000,
    );
    expect(await kubectl(['logs', 'reader', '-n', NS])).toContain(
      'hello from s3',
    );
    expect(pod.status.phase).toBe('Succeeded');

    // the provisioner left the user's claim alone; its volume is the prime PVC's, moved over
    const claim = await getJson('pvc', 'data', '-n', NS);
    expect(claim.status.phase).toBe('Bound');
    // the provisioner made no volume for the user's claim itself: its PV was made for the prime one
    expect(claim.spec.volumeName).not.toBe(`pvc-${claim.metadata.uid}`);
    const pv = await getJson('pv', claim.spec.volumeName);
    expect(pv.spec.claimRef).toMatchObject({
      namespace: NS,
      name: 'data',
      uid: claim.metadata.uid,
    });
    expect(pv.metadata.annotations['kube-restore.io/populated-from']).toBe(
      `${NS}/seed`,
    );
    // Retain only while the PV moved: the class's policy is back
    await waitUntil(
      'the reclaim policy back to Delete',
      async () =>
        (await getJson('pv', claim.spec.volumeName)).spec
          .persistentVolumeReclaimPolicy === 'Delete',
    );

    const prime = `prime-${claim.metadata.uid}`;
    await waitUntil(
      'the prime PVC and the Job gone',
      async () =>
        !(await exists('pvc', prime, '-n', NS)) &&
        !(await exists('job', prime, '-n', NS)),
    );
    const reasons = (await pvcEvents('data')).map(e => e.reason);
    expect(reasons).toEqual(
      expect.arrayContaining(['RestoreStarted', 'RestoreFinished']),
    );
    const source = await getJson('restoresource', 'seed', '-n', NS);
    expect(source.status.pvcs).toEqual([
      expect.objectContaining({
        pvc: 'data',
        state: 'Succeeded',
        restore: prime,
      }),
    ]);
  });

  it('a bucket that does not exist: an event on the PVC with the code, and a retry once the source is fixed', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      yamlDocs(
        restoreSource('broken', 'no-such-bucket'),
        pvc('bad', 'broken'),
        readerPod('bad-reader', 'bad'),
      ),
    );
    const failed = await waitUntil(
      'a RestoreFailed event',
      async () =>
        (await pvcEvents('bad')).find(e => e.reason === 'RestoreFailed'),
      180_000,
      1000,
    );
    expect(failed.type).toBe('Warning');
    expect(failed.message).toMatch(/^NO_SUCH_BUCKET: /);
    const source = await getJson('restoresource', 'broken', '-n', NS);
    expect(source.status.pvcs[0]).toMatchObject({
      pvc: 'bad',
      state: 'Failed',
      code: 'NO_SUCH_BUCKET',
    });
    expect((await getJson('pvc', 'bad', '-n', NS)).status.phase).toBe(
      'Pending',
    );

    await kubectl([
      'patch',
      'restoresource',
      'broken',
      '-n',
      NS,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { source: { bucket: 'pop-data' } } }),
    ]);
    await waitUntil(
      'the reader pod to succeed after the fix',
      async () =>
        (await getJson('pod', 'bad-reader', '-n', NS)).status.phase ===
        'Succeeded',
      240_000,
      1000,
    );
    expect(await kubectl(['logs', 'bad-reader', '-n', NS])).toContain(
      'hello from s3',
    );
  });

  it('the PVC deleted midway: its prime PVC, restore Job and pods go too', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      yamlDocs(
        restoreSource('slow', 'pop-slow', { bandwidth: '64Ki' }),
        pvc('gone', 'slow'),
        readerPod('gone-reader', 'gone'),
      ),
    );
    const uid = await waitUntil(
      'the user PVC',
      async () =>
        (await getJson('pvc', 'gone', '-n', NS)).metadata.uid as string,
    );
    const prime = `prime-${uid}`;
    await waitUntil(
      'the restore pod running',
      async () => {
        const pods = await getJson(
          'pods',
          '-n',
          NS,
          '-l',
          `kube-restore.io/restore=${prime}`,
        );
        return pods.items.some((p: any) => p.status.phase === 'Running');
      },
      180_000,
      500,
    );
    expect(await exists('pvc', prime, '-n', NS)).toBe(true);
    // 4 MiB at 64Ki/s: the first quarter passes while it runs, and the user's PVC says so
    const progressEvent = await waitUntil(
      'a progress event on the user PVC',
      async () =>
        (
          await getJson(
            'events',
            '-n',
            NS,
            '--field-selector',
            `involvedObject.uid=${uid},reason=RestoreProgress`,
          )
        ).items[0],
      120_000,
      1000,
    );
    expect(progressEvent.message).toMatch(
      /^(25|50|75)% restored: \d+ of 2 objects, [\d.]+ [KM]iB of 4\.00 MiB$/,
    );

    // the restore reads a copy of the RestoreSource's keys in its own Secret (deploy/policy admits
    // no Job that names the user's Secret), owned by its Job
    const job = await getJson('job', prime, '-n', NS);
    expect(
      job.spec.template.spec.containers[0].env.find(
        (e: any) => e.name === 'AWS_ACCESS_KEY_ID',
      ).valueFrom.secretKeyRef.name,
    ).toBe(`${prime}-credentials`);
    const copy = await getJson('secret', `${prime}-credentials`, '-n', NS);
    expect(copy.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Job', name: prime }),
    ]);

    await kubectl([
      'delete',
      'pod',
      'gone-reader',
      '-n',
      NS,
      '--grace-period=0',
      '--force',
    ]);
    await kubectl(['delete', 'pvc', 'gone', '-n', NS, '--wait=false']);
    await waitUntil(
      "prime PVC, Job, pods and the keys' copy gone",
      async () =>
        !(await exists('pvc', prime, '-n', NS)) &&
        !(await exists('secret', `${prime}-credentials`, '-n', NS)) &&
        !(await exists('job', prime, '-n', NS)) &&
        !(await exists(
          'pods',
          '-n',
          NS,
          '-l',
          `kube-restore.io/restore=${prime}`,
        )) &&
        !(await exists('pvc', 'gone', '-n', NS)),
      120_000,
      1000,
    );
    // nothing kube-restore made is left behind; the user's own credentials Secret stays
    expect(
      await exists(
        'secrets',
        '-n',
        NS,
        '-l',
        'app.kubernetes.io/managed-by=kube-restore',
      ),
    ).toBe(false);
    expect(await exists('secret', KEYS_SECRET, '-n', NS)).toBe(true);
  });

  it('a namespace that has not opted in: only an annotation on the PVC says so, until it opts in', async () => {
    const other = 'team-b';
    const source = {
      ...restoreSource('seed', 'pop-data'),
      metadata: { name: 'seed', namespace: other },
    };
    const claim = pvc('elsewhere', 'seed');
    claim.metadata.namespace = other;
    await kubectl(['apply', '-f', '-'], yamlDocs(source, claim));
    const problem = await waitUntil(
      'the populator-problem annotation',
      async () =>
        (await getJson('pvc', 'elsewhere', '-n', other)).metadata.annotations?.[
          'kube-restore.io/populator-problem'
        ] as string | undefined,
      60_000,
      500,
    );
    expect(problem).toBe(NOT_OPTED_IN(other));
    expect(
      await exists(
        'pvc',
        '-n',
        other,
        '-l',
        'app.kubernetes.io/component=populator',
      ),
    ).toBe(false);
    // (the PV controller's own WaitForFirstConsumer event is there; none of ours)
    const ours = (await pvcEvents('elsewhere', other)).filter(
      e => e.reportingComponent === 'kube-restore-populator',
    );
    expect(ours).toEqual([]);

    await kubectl([
      'apply',
      '-k',
      path.join(POPULATOR_DEPLOY, 'opt-in'),
      '-n',
      other,
    ]);
    const status = await waitUntil(
      'the RestoreSource status once team-b opted in',
      async () =>
        (await getJson('restoresource', 'seed', '-n', other)).status?.pvcs?.[0],
      60_000,
      500,
    );
    expect(status).toMatchObject({ pvc: 'elsewhere', state: 'Waiting' });
    expect(
      (await getJson('pvc', 'elsewhere', '-n', other)).metadata.annotations?.[
        'kube-restore.io/populator-problem'
      ],
    ).toBeUndefined();
  });
  it('a create stopped between its suspended Job and the resume is finished: the PVC gets its data', async () => {
    // the resume fails and so does the undo's delete of the Job: what a populator killed between
    // the two leaves behind (a suspended Job, maybe its Secret). Faults only, on the real API server.
    const faults = { patchJob: 1, deleteJob: 1 };
    const injected = () =>
      Promise.reject(
        Object.assign(new Error('injected'), {
          code: 500,
          body: { message: 'injected: stopped here' },
        }),
      );
    const batch = new Proxy(clients.batch, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        const fault = (
          {
            patchNamespacedJob: 'patchJob',
            deleteNamespacedJob: 'deleteJob',
          } as const
        )[String(prop) as 'patchNamespacedJob' | 'deleteNamespacedJob'];
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (fault && faults[fault] > 0) {
            faults[fault]--;
            return injected();
          }
          return value.apply(target, args);
        };
      },
    });
    await populator.stop();
    populator = startPopulator({ ...clients, batch });

    await kubectl(
      ['apply', '-f', '-'],
      yamlDocs(
        restoreSource('resumable', 'pop-data'),
        pvc('resumed', 'resumable'),
        readerPod('resumed-reader', 'resumed'),
      ),
    );
    // the failed create is a failure of the PVC's population: an event with the code (RestoreError)
    const failed = await waitUntil(
      'a RestoreFailed event for the failed resume',
      async () =>
        (await pvcEvents('resumed')).find(e => e.reason === 'RestoreFailed'),
      180_000,
      500,
    );
    expect(failed.type).toBe('Warning');
    expect(failed.message).toMatch(/^UNAVAILABLE: .*injected: stopped here/);
    expect(faults).toEqual({ patchJob: 0, deleteJob: 0 });

    // the next attempt finds the suspended Job and finishes its create
    const pod = await waitUntil(
      'the reader pod to end',
      async () => {
        const p = await getJson('pod', 'resumed-reader', '-n', NS);
        return ['Succeeded', 'Failed'].includes(p.status.phase) ? p : undefined;
      },
      240_000,
      1000,
    );
    expect(pod.status.phase).toBe('Succeeded');
    expect(await kubectl(['logs', 'resumed-reader', '-n', NS])).toContain(
      'hello from s3',
    );
    const status = await waitUntil(
      'the RestoreSource status Succeeded for the PVC',
      async () =>
        (
          await getJson('restoresource', 'resumable', '-n', NS)
        ).status?.pvcs?.find(
          (p: { pvc: string; state: string }) =>
            p.pvc === 'resumed' && p.state === 'Succeeded',
        ),
      60_000,
      500,
    );
    expect(status).toMatchObject({ pvc: 'resumed', state: 'Succeeded' });
  });
});
