/**
 * deploy/policy against a stolen populator token (issue 28, item 3): on a real API server (no node:
 * admission is all that is tested), what system:serviceaccount:kube-restore:restore-populator writes
 * passes the same policies as the operator's writes. Its restore Jobs are core's (image, restricted
 * pod, no host volumes, S3 keys from the restore's own Secret), its Secrets are those restores'
 * `<restore>-credentials`, its PVCs are empty prime PVCs marked as kube-restore's, it changes a user's
 * PVC only by the populator-problem annotation, it moves only a prime PVC's volume and only to the
 * PVC it was made for, and it writes PVC Leases and its own leader Lease
 * kube-restore/kube-restore-populator, no other. The legitimate objects are made with core's own
 * functions, as the populator makes them. guardrails.test.ts and rbac.test.ts hold the operator's cells.
 */
import * as path from 'node:path';
import { parseRestoreRequest } from '@kube-restore/common';
import {
  buildRestoreManifests,
  createRestore,
  deletePvcIfPresent,
  deleteRestore,
  ensurePrimePvc,
  KubeClients,
  primePvcName,
  rebindPv,
  restoreReclaimPolicy,
  setPopulatorProblem,
} from '@kube-restore/core';
import { Cluster } from '@kube-restore/test-cluster';
import {
  answer,
  DEPLOY,
  Kubectl,
  serviceAccountClients,
  startAdmissionCluster,
  waitForAdmissionPolicies,
} from './__testUtils__/admission';

type Core = KubeClients['core'];
type V1PersistentVolumeClaim = Parameters<
  Core['createNamespacedPersistentVolumeClaim']
>[0]['body'];
type V1Secret = Parameters<Core['createNamespacedSecret']>[0]['body'];
type V1PersistentVolume = Parameters<Core['createPersistentVolume']>[0]['body'];
type V1Lease = Parameters<
  KubeClients['coordination']['createNamespacedLease']
>[0]['body'];

const POPULATOR = path.join(DEPLOY, 'populator');
const NS = 'team-a';
const KEYS = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'example' };

jest.setTimeout(120_000);

let cluster: Cluster;
let kubectl: Kubectl;
let populator: KubeClients;
let admin: KubeClients;
let userPvc: V1PersistentVolumeClaim;

/** The restore the populator runs for `userPvc`: into its prime PVC, keys copied to its own Secret. */
const primeRestore = () => {
  const prime = primePvcName(userPvc);
  return buildRestoreManifests(
    parseRestoreRequest({
      name: prime,
      source: { bucket: 'datasets', prefix: 'p/' },
      target: { namespace: NS, pvc: prime, mode: 'existing' },
    }),
    { credentials: KEYS },
  );
};
type Job = ReturnType<typeof primeRestore>['job'];
const createJob = (job: Job) =>
  answer(
    populator.batch.createNamespacedJob({
      namespace: NS,
      body: job,
      dryRun: 'All',
    }),
  );

beforeAll(async () => {
  const started = await startAdmissionCluster();
  ({ cluster, kubectl, admin } = started);
  // a first apply may say "no matches for kind VolumePopulator" (its CRD not established yet)
  await kubectl('apply', '-k', POPULATOR).catch(async () => {
    await kubectl(
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/restoresources.kube-restore.io',
      'crd/volumepopulators.populator.storage.k8s.io',
    );
    await kubectl('apply', '-k', POPULATOR);
  });
  await kubectl('apply', '-k', path.join(POPULATOR, 'opt-in'), '-n', NS);
  populator = await serviceAccountClients(
    started,
    'kube-restore',
    'restore-populator',
  );
  // the user's PVC, naming a RestoreSource (no populator runs: it stays pending)
  userPvc = await admin.core.createNamespacedPersistentVolumeClaim({
    namespace: NS,
    body: {
      metadata: { name: 'data', namespace: NS },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
        dataSourceRef: {
          apiGroup: 'kube-restore.io',
          kind: 'RestoreSource',
          name: 'seed',
        },
      },
    },
  });
  // The populator's Job with another image, refused from the start, with a Secret, a PVC, a Lease and
  // a volume's patch the other policies refuse, tells when each policy is enforced.
  const probe = primeRestore().job;
  probe.spec!.template.spec!.containers[0].image = 'busybox';
  await waitForAdmissionPolicies(started, populator, NS, probe, {
    volumes: true,
  });
}, 10 * 60_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

it("admits a populator's whole restore as core makes it: prime PVC, Job, its own Secret, the PVC's Lease, resume, clean-up", async () => {
  const prime = await ensurePrimePvc(populator, userPvc);
  expect(prime.metadata?.annotations?.['kube-restore.io/created-by']).toBe(
    prime.metadata?.name,
  );
  const { request } = primeRestore();
  const created = await createRestore(
    populator,
    { ...request, credentials: { type: 'none' } },
    { credentials: KEYS },
  );
  expect(created.created).toBe(true);
  const job = await admin.batch.readNamespacedJob({
    name: prime.metadata!.name!,
    namespace: NS,
  });
  expect(job.spec?.suspend).toBe(false);
  const keyRef = job.spec!.template.spec!.containers[0].env!.find(
    e => e.name === 'AWS_ACCESS_KEY_ID',
  )!.valueFrom!.secretKeyRef!;
  expect(keyRef.name).toBe(`${prime.metadata!.name}-credentials`);
  await deleteRestore(populator, NS, prime.metadata!.name!);
  await deletePvcIfPresent(populator, NS, prime.metadata!.name!);
});

const POLICY = (name: string) =>
  new RegExp(
    `^422: .*ValidatingAdmissionPolicy 'kube-restore-operator-${name}' with binding 'kube-restore-operator-${name}' denied request`,
  );
const pod = (j: Job) => j.spec!.template.spec!;
const container = (j: Job) => pod(j).containers[0];
const hostileJobs: [string, (job: Job) => void, string][] = [
  [
    'runs privileged',
    j => {
      container(j).securityContext!.privileged = true;
      container(j).securityContext!.allowPrivilegeEscalation = true;
    },
    'is not privileged, cannot escalate',
  ],
  [
    "mounts the node's root (hostPath)",
    j => {
      pod(j).volumes!.push({ name: 'host', hostPath: { path: '/' } });
      container(j).volumeMounts!.push({ name: 'host', mountPath: '/host' });
    },
    'no Secret, projected or host volumes',
  ],
  [
    'runs a foreign image',
    j => (container(j).image = 'docker.io/library/busybox:latest'),
    'the kube-restore job image',
  ],
  [
    'uses the host network',
    j => (pod(j).hostNetwork = true),
    'no host namespaces',
  ],
  [
    "reads the RestoreSource's Secret itself instead of the restore's copy",
    j => {
      for (const e of container(j).env!)
        if (e.valueFrom?.secretKeyRef)
          e.valueFrom.secretKeyRef.name = 's3-keys';
    },
    "the restore's own Secret (NAME-credentials)",
  ],
  [
    'runs as another ServiceAccount',
    j => (pod(j).serviceAccountName = 'deployer'),
    "the namespace's default ServiceAccount",
  ],
];

it('admits the Job core builds for the populator', async () => {
  expect(await createJob(primeRestore().job)).toBe('allowed');
});

it.each(hostileJobs)(
  'refuses a Job from the populator that %s',
  async (_what, change, reason) => {
    const job = primeRestore().job;
    change(job);
    const refused = await createJob(job);
    expect(refused).toMatch(POLICY('jobs'));
    expect(refused).toContain(reason);
  },
);

it("changes and deletes only its own restores' Jobs (prime-UID), not the operator's", async () => {
  // the operator's restore, as core builds it, created with the operator's rights (here: admin's)
  const theirs = buildRestoreManifests(
    parseRestoreRequest({
      name: 'nightly',
      source: { bucket: 'datasets', prefix: 'p/' },
      target: { namespace: NS, pvc: 'restored', mode: 'existing' },
    }),
    { credentials: KEYS },
  ).job;
  theirs.spec!.suspend = true;
  const own = new RegExp(
    "only creates, changes and deletes its own restores' Jobs",
  );
  expect(await createJob(theirs)).toMatch(own);
  await admin.batch.createNamespacedJob({ namespace: NS, body: theirs });
  expect(
    await answer(
      populator.batch.deleteNamespacedJob({
        name: 'nightly',
        namespace: NS,
        dryRun: 'All',
      }),
    ),
  ).toMatch(own);
  // resuming it (the one update kube-restore makes) is the operator's, not the populator's
  expect(
    await answer(
      populator.batch.patchNamespacedJob({
        name: 'nightly',
        namespace: NS,
        body: [{ op: 'replace', path: '/spec/suspend', value: false }],
        dryRun: 'All',
      }),
    ),
  ).toMatch(own);
});

it("admits only the restore's own credentials Secret, owned by its Job", async () => {
  const { secret, name } = primeRestore();
  const owned = (secretName: string, owner = name): V1Secret => ({
    ...secret!,
    metadata: {
      ...secret!.metadata,
      name: secretName,
      ownerReferences: [
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          name: owner,
          uid: 'dry-run',
          controller: true,
        },
      ],
    },
  });
  const create = (body: V1Secret) =>
    answer(
      populator.core.createNamespacedSecret({
        namespace: NS,
        body,
        dryRun: 'All',
      }),
    );
  expect(await create(owned(`${name}-credentials`))).toBe('allowed');
  // another name (one an app might read), still owned by the Job
  expect(await create(owned('db-password'))).toMatch(POLICY('secrets'));
  // an operator's restore's Secret, owned by its Job (made suspended, before its Secret): keys of
  // the populator's choosing would point that restore at another bucket
  expect(await create(owned('nightly-credentials', 'nightly'))).toMatch(
    /only creates the credentials Secrets of its own restores/,
  );
  expect(await create(owned(`${name}-credentials`, 'other-job'))).toMatch(
    /named JOB-credentials/,
  );
  expect(
    await create({
      ...owned(`${name}-credentials`),
      type: 'kubernetes.io/service-account-token',
      metadata: {
        ...owned(`${name}-credentials`).metadata,
        annotations: { 'kubernetes.io/service-account.name': 'default' },
      },
      stringData: {},
    }),
  ).toMatch(POLICY('secrets'));
  expect(
    await create({
      ...secret!,
      metadata: { ...secret!.metadata, name: `${name}-credentials` },
    }),
  ).toMatch(POLICY('secrets'));
});

it('creates and deletes only empty PVCs marked as kube-restore, and changes a PVC only by its problem annotation', async () => {
  const prime = (change: (p: V1PersistentVolumeClaim) => void) => {
    const body: V1PersistentVolumeClaim = {
      metadata: {
        name: 'prime-copy',
        labels: { 'app.kubernetes.io/managed-by': 'kube-restore' },
        annotations: { 'kube-restore.io/created-by': 'prime-copy' },
      },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
      },
    };
    change(body);
    return answer(
      populator.core.createNamespacedPersistentVolumeClaim({
        namespace: NS,
        body,
        dryRun: 'All',
      }),
    );
  };
  expect(await prime(() => undefined)).toBe('allowed');
  // a clone of the user's volume, to read its data through a restore pod
  expect(
    await prime(
      p =>
        (p.spec!.dataSource = { kind: 'PersistentVolumeClaim', name: 'data' }),
    ),
  ).toMatch(POLICY('volumes'));
  expect(
    await prime(
      p => delete p.metadata!.annotations!['kube-restore.io/created-by'],
    ),
  ).toMatch(/only creates empty PVCs/);
  // a claim on a volume of its choosing (an Available pre-provisioned PV: another team's data)
  expect(await prime(p => (p.spec!.volumeName = 'precious'))).toMatch(
    /only creates empty PVCs/,
  );
  // the user's PVC is not the populator's to delete
  expect(
    await answer(
      populator.core.deleteNamespacedPersistentVolumeClaim({
        name: 'data',
        namespace: NS,
        dryRun: 'All',
      }),
    ),
  ).toMatch(/only deletes its prime PVCs/);
  // the operator's restored PVC (kube-restore created it, but not as a prime PVC): not the populator's
  const made = (name: string, annotations: Record<string, string>) =>
    admin.core.createNamespacedPersistentVolumeClaim({
      namespace: NS,
      body: {
        metadata: {
          name,
          labels: { 'app.kubernetes.io/managed-by': 'kube-restore' },
          annotations,
        },
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' } },
        },
      },
    });
  const remove = (name: string) =>
    answer(
      populator.core.deleteNamespacedPersistentVolumeClaim({
        name,
        namespace: NS,
        dryRun: 'All',
      }),
    );
  await made('restored', { 'kube-restore.io/created-by': 'nightly' });
  expect(await remove('restored')).toMatch(/only deletes its prime PVCs/);
  // a prime PVC made before kube-restore.io/created-by existed: the populator cleans it up
  const legacy = `prime-${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}`;
  await made(legacy, {
    'kube-restore.io/prime-for': `${NS}/old/${legacy.substring(6)}`,
  });
  expect(await remove(legacy)).toBe('allowed');
  // the prime-for annotation alone does not make a PVC a prime PVC
  await made('prime-copy', {
    'kube-restore.io/created-by': 'prime-copy',
    'kube-restore.io/prime-for': `${NS}/data/x`,
  });
  expect(await remove('prime-copy')).toMatch(/only deletes its prime PVCs/);

  // its one change to a user's PVC (its cluster-wide right: also where a namespace has not opted in)
  await setPopulatorProblem(populator, userPvc, 'a problem');
  expect(
    (
      await admin.core.readNamespacedPersistentVolumeClaim({
        name: 'data',
        namespace: NS,
      })
    ).metadata?.annotations?.['kube-restore.io/populator-problem'],
  ).toBe('a problem');
  await setPopulatorProblem(populator, userPvc, undefined);
  // anything else (a JSON patch: client-node's default for patch)
  const patch = (pointer: string, value: unknown) =>
    answer(
      populator.core.patchNamespacedPersistentVolumeClaim({
        name: 'data',
        namespace: NS,
        body: [{ op: 'add', path: pointer, value }],
        dryRun: 'All',
      }),
    );
  const ANNOTATION_ONLY =
    /only by its annotation kube-restore.io\/populator-problem/;
  expect(await patch('/metadata/labels', { app: 'taken' })).toMatch(
    ANNOTATION_ONLY,
  );
  // steering the scheduler, or marking the PVC as one kube-restore made (then deletable)
  // (the PVC has no annotations left: each patch adds the map)
  expect(
    await patch('/metadata/annotations', {
      'volume.kubernetes.io/selected-node': 'node-x',
    }),
  ).toMatch(ANNOTATION_ONLY);
  expect(
    await patch('/metadata/annotations', {
      'kube-restore.io/created-by': 'data',
      'kube-restore.io/populator-problem': 'x',
    }),
  ).toMatch(ANNOTATION_ONLY);
  // nor a claim to an origin (kube-restore.io/populated-from is the rebound volume's, written once)
  expect(
    await patch('/metadata/annotations', {
      'kube-restore.io/populated-from': `${NS}/seed`,
    }),
  ).toMatch(ANNOTATION_ONLY);
  expect(
    await patch('/metadata/annotations', {
      'kube-restore.io/populator-problem': 'only this',
    }),
  ).toBe('allowed');
  expect(await patch('/metadata/finalizers', ['example.com/hold'])).toMatch(
    ANNOTATION_ONLY,
  );
});

it('writes PVC Leases and its own leader Lease kube-restore/kube-restore-populator, no other', async () => {
  const lease = (
    name: string,
    labels: Record<string, string> = {},
  ): V1Lease => ({
    metadata: { name, labels },
    spec: { holderIdentity: 'x', leaseDurationSeconds: 15 },
  });
  const create = (namespace: string, body: V1Lease) =>
    answer(
      populator.coordination.createNamespacedLease({
        namespace,
        body,
        dryRun: 'All',
      }),
    );
  const ours = { 'app.kubernetes.io/managed-by': 'kube-restore' };
  expect(await create('kube-restore', lease('kube-restore-populator'))).toBe(
    'allowed',
  );
  expect(await create(NS, lease('kube-restore-pvc-x', ours))).toBe('allowed');
  // RBAC lets it create any Lease in kube-restore (create cannot be limited to a name): the policy does
  expect(await create('kube-restore', lease('other-leader'))).toMatch(
    POLICY('leases'),
  );
  // the leader Lease's name in an opted-in namespace, and an app's Lease there
  expect(await create(NS, lease('kube-restore-populator'))).toMatch(
    /only writes Leases named kube-restore-pvc-/,
  );
  expect(await create(NS, lease('app-leader', ours))).toMatch(
    /only writes Leases named kube-restore-pvc-/,
  );
  // an app's Lease that happens to carry a PVC Lease's name: not the populator's to take over
  await admin.coordination.createNamespacedLease({
    namespace: NS,
    body: lease('kube-restore-pvc-app'),
  });
  const app = await populator.coordination.readNamespacedLease({
    name: 'kube-restore-pvc-app',
    namespace: NS,
  });
  expect(
    await answer(
      populator.coordination.replaceNamespacedLease({
        name: 'kube-restore-pvc-app',
        namespace: NS,
        body: {
          ...app,
          metadata: { ...app.metadata, labels: ours },
          spec: { ...app.spec, holderIdentity: 'populator' },
        },
      }),
    ),
  ).toMatch(/only updates Leases that kube-restore made/);
  // its own leader Lease: created, then renewed (replace), as leaderElection.ts does
  await populator.coordination.createNamespacedLease({
    namespace: 'kube-restore',
    body: lease('kube-restore-populator'),
  });
  const leader = await populator.coordination.readNamespacedLease({
    name: 'kube-restore-populator',
    namespace: 'kube-restore',
  });
  expect(
    await answer(
      populator.coordination.replaceNamespacedLease({
        name: 'kube-restore-populator',
        namespace: 'kube-restore',
        body: { ...leader, spec: { ...leader.spec, holderIdentity: 'y' } },
      }),
    ),
  ).toBe('allowed');
});

it("moves only a prime PVC's volume, to the PVC it was made for, as rebindPv does; no other volume", async () => {
  const uid = userPvc.metadata!.uid!;
  const claim = (namespace: string, name: string, claimUid: string) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    namespace,
    name,
    uid: claimUid,
  });
  const pv = (
    name: string,
    claimRef: ReturnType<typeof claim>,
    policy = 'Delete',
    source: Partial<V1PersistentVolume['spec']> = {
      hostPath: { path: `/tmp/${name}` },
    },
  ): V1PersistentVolume => ({
    metadata: { name },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: policy,
      ...source,
      claimRef,
    },
  });
  // a real prime PVC for the volume to be bound to (a volume whose claim is gone would be released,
  // and with Delete, deleted); the second one is only patched with dryRun: Retain keeps it
  const primePvc = await ensurePrimePvc(populator, userPvc);
  const prime = primePvc.metadata!.name!;
  for (const body of [
    pv('primed', claim(NS, prime, primePvc.metadata!.uid!)),
    pv('primed-too', claim(NS, prime, 'prime-pvc-uid'), 'Retain'),
    // a class that already reclaims Retain
    pv('primed-kept', claim(NS, prime, 'prime-pvc-uid'), 'Retain'),
    pv('primed-csi', claim(NS, prime, 'prime-pvc-uid'), 'Retain', {
      csi: { driver: 'csi.example.com', volumeHandle: 'vol-1' },
    }),
    // team-b's database: not a prime PVC's
    pv('precious', claim('team-b', 'db', 'db-uid'), 'Retain'),
  ])
    await admin.core.createPersistentVolume({ body });

  const patch = (name: string, ops: object[]) =>
    answer(
      populator.core.patchPersistentVolume({ name, body: ops, dryRun: 'All' }),
    );
  const REFUSED =
    /^422: .*ValidatingAdmissionPolicy 'kube-restore-populator-volumes' with binding 'kube-restore-populator-volumes' denied request/;
  const RECLAIM = /sets a volume's reclaim policy only to Retain/;
  const claimTo = (ref: ReturnType<typeof claim>) => [
    { op: 'replace', path: '/spec/claimRef', value: ref },
  ];
  /** A JSON patch setting the annotation kube-restore.io/reclaim-policy (the map may not exist yet). */
  const keep = async (name: string, value: string) => {
    const annotations = (await admin.core.readPersistentVolume({ name }))
      .metadata?.annotations;
    return annotations
      ? [
          {
            op: 'add',
            path: '/metadata/annotations/kube-restore.io~1reclaim-policy',
            value,
          },
        ]
      : [
          {
            op: 'add',
            path: '/metadata/annotations',
            value: { 'kube-restore.io/reclaim-policy': value },
          },
        ];
  };
  const reclaim = (value: string) => ({
    op: 'replace',
    path: '/spec/persistentVolumeReclaimPolicy',
    value,
  });
  // a prime PVC's volume moves only while it is Retain (a Delete volume handed to a claim that is
  // deleted, or never binds, takes the restored data with it)
  expect(await patch('primed', claimTo(claim(NS, 'data', uid)))).toMatch(
    RECLAIM,
  );
  // the kept policy is the one Retain replaces, written once: not one that a later put-back would
  // turn into Delete
  expect(await patch('primed-too', await keep('primed-too', 'Delete'))).toMatch(
    RECLAIM,
  );
  // other fields of the volume: its node affinity, its CSI secrets
  expect(
    await patch('primed-too', [
      {
        op: 'add',
        path: '/spec/nodeAffinity',
        value: {
          required: {
            nodeSelectorTerms: [
              {
                matchExpressions: [
                  {
                    key: 'kubernetes.io/hostname',
                    operator: 'In',
                    values: ['x'],
                  },
                ],
              },
            ],
          },
        },
      },
    ]),
  ).toMatch(/only by its claimRef, reclaim policy/);
  expect(
    await patch('primed-csi', [
      {
        op: 'add',
        path: '/spec/csi/controllerExpandSecretRef',
        value: { name: 's3-keys', namespace: NS },
      },
    ]),
  ).toMatch(/only by its claimRef, reclaim policy/);
  expect(
    await patch('primed-csi', [
      { op: 'add', path: '/spec/volumeAttributesClassName', value: 'fast' },
    ]),
  ).toMatch(/only by its claimRef, reclaim policy/);

  // the rebind, as the populator makes it: Retain, claimRef to the user's PVC, the policy back
  await rebindPv(populator, 'primed', userPvc, 'seed');
  const moved = await admin.core.readPersistentVolume({ name: 'primed' });
  expect(moved.spec?.claimRef).toMatchObject({
    namespace: NS,
    name: 'data',
    uid,
  });
  expect(moved.spec?.persistentVolumeReclaimPolicy).toBe('Retain');
  await restoreReclaimPolicy(populator, 'primed');
  expect(
    (await admin.core.readPersistentVolume({ name: 'primed' })).spec
      ?.persistentVolumeReclaimPolicy,
  ).toBe('Delete');
  // done: the volume is no longer the populator's to change
  expect(await patch('primed', [reclaim('Retain')])).toMatch(
    /only changes the volume of a prime PVC/,
  );

  // a Retain class: the rebind keeps Retain and puts Retain back
  await rebindPv(populator, 'primed-kept', userPvc, 'seed');
  const kept = await admin.core.readPersistentVolume({ name: 'primed-kept' });
  expect(kept.metadata?.annotations?.['kube-restore.io/reclaim-policy']).toBe(
    'Retain',
  );
  // handed over: a stolen token rewrites the kept policy to Delete, to put "it" back as Delete
  expect(
    await patch('primed-kept', await keep('primed-kept', 'Delete')),
  ).toMatch(RECLAIM);
  expect(await patch('primed-kept', [reclaim('Delete')])).toMatch(RECLAIM);
  expect(
    await patch('primed-kept', [
      {
        op: 'remove',
        path: '/metadata/annotations/kube-restore.io~1reclaim-policy',
      },
      reclaim('Delete'),
    ]),
  ).toMatch(RECLAIM);
  // the origin it was handed over with (rebindPv writes it once, with the claim): a stolen token
  // neither rewrites nor removes it
  const FROM = '/metadata/annotations/kube-restore.io~1populated-from';
  const WRITE_ONCE = /writes a volume's kube-restore.io\/populated-from once/;
  expect(kept.metadata?.annotations?.['kube-restore.io/populated-from']).toBe(
    `${NS}/seed`,
  );
  expect(
    await patch('primed-kept', [
      { op: 'replace', path: FROM, value: `${NS}/elsewhere` },
    ]),
  ).toMatch(WRITE_ONCE);
  expect(await patch('primed-kept', [{ op: 'remove', path: FROM }])).toMatch(
    WRITE_ONCE,
  );
  await restoreReclaimPolicy(populator, 'primed-kept');
  const back = await admin.core.readPersistentVolume({ name: 'primed-kept' });
  expect(back.spec?.persistentVolumeReclaimPolicy).toBe('Retain');
  expect(
    back.metadata?.annotations?.['kube-restore.io/reclaim-policy'],
  ).toBeUndefined();

  // another claim's volume: neither moved to a PVC of the populator's choice nor set to Delete
  expect(await patch('precious', claimTo(claim(NS, 'data', uid)))).toMatch(
    /only changes the volume of a prime PVC/,
  );
  expect(
    await patch('precious', [
      {
        op: 'replace',
        path: '/spec/persistentVolumeReclaimPolicy',
        value: 'Delete',
      },
    ]),
  ).toMatch(REFUSED);
  // a prime PVC's volume: only to the PVC whose uid its name carries, in its namespace
  expect(
    await patch('primed-too', claimTo(claim(NS, 'other', 'other-uid'))),
  ).toMatch(/only to the PVC its name carries the uid of/);
  expect(
    await patch('primed-too', claimTo(claim('team-b', 'data', uid))),
  ).toMatch(REFUSED);
  expect(
    await patch('primed-too', [
      { op: 'replace', path: '/spec/capacity', value: { storage: '100Gi' } },
    ]),
  ).toMatch(/only by its claimRef, reclaim policy/);
  // the origin is written only as the claim moves, naming the namespace the claim is in
  const from = (value: string) => ({
    op: 'add',
    path: '/metadata/annotations',
    value: { 'kube-restore.io/populated-from': value },
  });
  expect(await patch('primed-too', [from(`${NS}/seed`)])).toMatch(WRITE_ONCE);
  expect(
    await patch('primed-too', [
      from('team-b/backups'),
      ...claimTo(claim(NS, 'data', uid)),
    ]),
  ).toMatch(WRITE_ONCE);
  expect(await patch('primed-too', claimTo(claim(NS, 'data', uid)))).toBe(
    'allowed',
  );
  // a handed-over volume keeps its claim
  expect(
    await patch('primed', claimTo(claim(NS, prime, 'prime-pvc-uid'))),
  ).toMatch(REFUSED);
  // and it makes no volume
  expect(
    await answer(
      populator.core.createPersistentVolume({
        body: pv('minted', claim(NS, 'data', uid)),
        dryRun: 'All',
      }),
    ),
  ).toMatch(/^403: /);
});
