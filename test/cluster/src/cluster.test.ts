/*
 * The harness on real servers: Jobs run in containers of the job image on two real nodes (kubelet,
 * containerd, runc) under the real Job controller and scheduler, RBAC, Pod Security admission, TTL,
 * logs, the local-path provisioner. A missing prerequisite (Go, openssl, a failed build) fails
 * startCluster() and with it this file: nothing here is skipped.
 */
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Cluster, startCluster } from './cluster';
import { KubeApiError, KubeClient } from './kube';
import {
  exists,
  jobManifest,
  podsOfJob,
  podProcesses,
  pvcManifest,
  restrictedPodSpec,
  TEST_JOB_IMAGE,
  waitForJobFinished,
  waitUntil,
} from './testing';

const run = promisify(execFile);
jest.setTimeout(120_000);

let cluster: Cluster;
let admin: KubeClient;
/** Each node's bridge MAC address right after the cluster started (node IP -> address). */
const bridgesAtStart = new Map<string, string>();

beforeAll(async () => {
  cluster = await startCluster();
  admin = cluster.admin;
  for (const n of cluster.nodes)
    bridgesAtStart.set(n.ip, bridgeAddress(n.ip).address);
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

function userClient(kubeconfigFile: string): KubeClient {
  const text = fs.readFileSync(kubeconfigFile, 'utf8');
  const field = (k: string) => new RegExp(`${k}: (\\S+)`).exec(text)?.[1];
  const b64 = (v?: string) =>
    v ? Buffer.from(v, 'base64').toString() : undefined;
  return new KubeClient({
    server: field('server')!,
    ca: b64(field('certificate-authority-data'))!,
    cert: b64(field('client-certificate-data')),
    key: b64(field('client-key-data')),
    token: field('token'),
  });
}

async function kubectl(
  kubeconfig: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(cluster.binaries.kubectl, [
      '--kubeconfig',
      kubeconfig,
      ...args,
    ]);
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e: any) {
    return {
      code: e.code ?? 1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    };
  }
}

/** The host's pod bridge that holds `ip`, its MAC address and how the kernel assigned it. */
function bridgeAddress(ip: string): { address: string; assignType: string } {
  // `ip -o addr show to <ip>`: "<index>: <dev>    inet <ip>/24 ..."
  const dev = execFileSync('ip', ['-o', '-4', 'addr', 'show', 'to', ip], {
    encoding: 'utf8',
  }).split(/\s+/)[1];
  if (!dev || !fs.existsSync(`/sys/class/net/${dev}/bridge`))
    throw new Error(`no bridge holds ${ip}`);
  const read = (f: string) =>
    fs.readFileSync(`/sys/class/net/${dev}/${f}`, 'utf8').trim();
  return { address: read('address'), assignType: read('addr_assign_type') };
}

async function createJob(ns: string, job: any) {
  return admin.post(`/apis/batch/v1/namespaces/${ns}/jobs`, job);
}

describe('control plane', () => {
  it('serves the pinned Kubernetes version with two Ready nodes and the local StorageClass', async () => {
    const v = await admin.get('/version');
    expect(v.gitVersion).toBe(cluster.kubernetesVersion);
    expect(v.gitVersion).toMatch(/^v1\.36\.\d+$/);
    expect(cluster.nodes.map(n => n.name)).toEqual(['kr-node-0', 'kr-node-1']);
    for (const n of cluster.nodes) {
      const node = await admin.get(`/api/v1/nodes/${n.name}`);
      expect(
        node.status.conditions.find((c: any) => c.type === 'Ready').status,
      ).toBe('True');
      // the kubelet of the apiserver's version, on containerd, at the bridge's address
      expect(node.status.nodeInfo.kubeletVersion).toBe(
        cluster.kubernetesVersion,
      );
      expect(node.status.nodeInfo.containerRuntimeVersion).toMatch(
        /^containerd:\/\//,
      );
      expect(node.status.addresses).toContainEqual({
        type: 'InternalIP',
        address: n.ip,
      });
    }
    const sc = await admin.get('/apis/storage.k8s.io/v1/storageclasses/local');
    expect(
      sc.metadata.annotations['storageclass.kubernetes.io/is-default-class'],
    ).toBe('true');
    expect(sc.volumeBindingMode).toBe('WaitForFirstConsumer');
    for (const ns of ['team-a', 'team-b']) {
      const n = await admin.get(`/api/v1/namespaces/${ns}`);
      expect(n.metadata.labels['pod-security.kubernetes.io/enforce']).toBe(
        'restricted',
      );
    }
  });

  it('gives every identity a working kubeconfig', async () => {
    const whoami = async (kc: string) =>
      (
        await userClient(kc).post(
          '/apis/authentication.k8s.io/v1/selfsubjectreviews',
          {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'SelfSubjectReview',
          },
        )
      ).status.userInfo;
    expect((await whoami(cluster.kubeconfig.admin)).groups).toContain(
      'system:masters',
    );
    expect((await whoami(cluster.kubeconfig.operator)).username).toBe(
      'system:serviceaccount:kube-restore:restore-operator',
    );
    const alice = await whoami(cluster.kubeconfig.alice);
    expect(alice.username).toBe('alice');
    expect(alice.groups).toContain('team-a');
    expect((await whoami(cluster.kubeconfig.bob)).username).toBe('bob');
    // the built kubectl reads them too
    const r = await kubectl(
      cluster.kubeconfig.alice,
      'get',
      'pods',
      '-n',
      'team-a',
    );
    expect(r.stderr).not.toMatch(/forbidden/i);
    expect(r.code).toBe(0);
  });
});

describe('RBAC and Pod Security admission', () => {
  it('lets alice work in team-a only, and bob nowhere', async () => {
    const alice = userClient(cluster.kubeconfig.alice);
    const bob = userClient(cluster.kubeconfig.bob);
    await expect(
      alice.get('/apis/batch/v1/namespaces/team-a/jobs'),
    ).resolves.toBeDefined();
    const aliceJob = jobManifest(
      'alice-job',
      restrictedPodSpec({ stub: ['--print', 'alice was here'] }),
    );
    await expect(
      alice.post('/apis/batch/v1/namespaces/team-a/jobs', aliceJob),
    ).resolves.toBeDefined();
    for (const [client, ns] of [
      [alice, 'team-b'],
      [bob, 'team-a'],
      [bob, 'team-b'],
      [bob, 'default'],
    ] as const) {
      const err = await client
        .get(`/apis/batch/v1/namespaces/${ns}/jobs`)
        .catch(e => e);
      expect(err).toBeInstanceOf(KubeApiError);
      expect(err.statusCode).toBe(403);
      const err2 = await client
        .post(`/apis/batch/v1/namespaces/${ns}/jobs`, aliceJob)
        .catch(e => e);
      expect(err2.statusCode).toBe(403);
    }
    const bobCluster = await bob.get('/api/v1/namespaces').catch(e => e);
    expect(bobCluster.statusCode).toBe(403);
    // kubectl auth can-i answers the same from the admin identity
    const can = async (
      as: string,
      verb: string,
      ns: string,
      ...groups: string[]
    ) =>
      (
        await kubectl(
          cluster.kubeconfig.admin,
          'auth',
          'can-i',
          verb,
          'jobs',
          '-n',
          ns,
          `--as=${as}`,
          ...groups.map(g => `--as-group=${g}`),
        )
      ).stdout.trim();
    expect(await can('alice', 'create', 'team-a', 'team-a')).toBe('yes');
    expect(await can('alice', 'create', 'team-b', 'team-a')).toBe('no');
    expect(await can('bob', 'list', 'team-a')).toBe('no');
    await waitForJobFinished(admin, 'team-a', 'alice-job');
  });

  it('rejects a privileged pod in team-a', async () => {
    const spec = restrictedPodSpec({ stub: [] });
    spec.containers[0].securityContext = { privileged: true };
    const err = await admin
      .post('/api/v1/namespaces/team-a/pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'privileged' },
        spec,
      })
      .catch(e => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err.statusCode).toBe(403);
    expect(err.message).toMatch(
      /violates PodSecurity "restricted:latest".*privileged/,
    );
  });
});

describe('Jobs on the real nodes', () => {
  it('runs a Job to Complete, with the PVC provisioned on its node and shared by later pods', async () => {
    await admin.post(
      '/api/v1/namespaces/team-a/persistentvolumeclaims',
      pvcManifest('data-1'),
    );
    // WaitForFirstConsumer: nothing is provisioned until a pod needs the claim
    expect(
      (
        await admin.get(
          '/api/v1/namespaces/team-a/persistentvolumeclaims/data-1',
        )
      ).status.phase,
    ).toBe('Pending');
    await createJob(
      'team-a',
      jobManifest(
        'writer',
        restrictedPodSpec({
          pvc: 'data-1',
          stub: [
            '--print',
            'hello',
            '--write',
            'dir/hello.txt=hi there',
            '--env',
            'TMPDIR',
            '--message',
            '{"phase":"Succeeded"}',
          ],
        }),
      ),
    );
    const cond = await waitForJobFinished(admin, 'team-a', 'writer');
    expect(cond.type).toBe('Complete');
    const [pod] = await podsOfJob(admin, 'team-a', 'writer');
    expect(pod.status.phase).toBe('Succeeded');
    expect(cluster.nodes.map(n => n.name)).toContain(pod.spec.nodeName);
    const term = pod.status.containerStatuses[0].state.terminated;
    expect(term).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
      message: '{"phase":"Succeeded"}',
    });

    const dir = await cluster.pvcPath('team-a', 'data-1');
    expect(fs.readFileSync(path.join(dir, 'dir', 'hello.txt'), 'utf8')).toBe(
      'hi there',
    );
    // the provisioner made a local PV pinned to the node the scheduler picked
    const pvc = await admin.get(
      '/api/v1/namespaces/team-a/persistentvolumeclaims/data-1',
    );
    const pv = await admin.get(
      `/api/v1/persistentvolumes/${pvc.spec.volumeName}`,
    );
    expect(pv.spec.local.path).toBe(dir);
    expect(
      pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0],
    ).toEqual({
      key: 'kubernetes.io/hostname',
      operator: 'In',
      values: [pod.spec.nodeName],
    });
    // made 0777 like local-path's; the kubelet then gave it to the pod's fsGroup: group and setgid
    const root = fs.statSync(dir);
    expect(root.mode & 0o7777).toBe(0o2777);
    expect(root.gid).toBe(65532);

    // a second pod on the same PVC sees the same directory
    await createJob(
      'team-a',
      jobManifest(
        'reader',
        restrictedPodSpec({ pvc: 'data-1', stub: ['--cat', 'dir/hello.txt'] }),
      ),
    );
    expect((await waitForJobFinished(admin, 'team-a', 'reader')).type).toBe(
      'Complete',
    );
    const [reader] = await podsOfJob(admin, 'team-a', 'reader');
    const log = await admin.get(
      `/api/v1/namespaces/team-a/pods/${reader.metadata.name}/log`,
      { raw: true },
    );
    expect(log).toBe('hi there\n');
    expect(reader.spec.nodeName).toBe(pod.spec.nodeName);
    expect(await cluster.pvcPath('team-a', 'data-1')).toBe(dir);
  });

  it('keeps each pod bridge at its own fixed address while pods come and go', () => {
    // A bridge without a set address takes its lowest port's, which leaves with that port's
    // pod: the other pods' cached gateway address then leads nowhere (their traffic stalls).
    for (const n of cluster.nodes) {
      const now = bridgeAddress(n.ip);
      expect(now.assignType).toBe('3'); // NET_ADDR_SET: the kernel never replaces it
      expect(now.address).toBe(bridgesAtStart.get(n.ip));
    }
  });

  it('respects backoffLimit for a failing pod', async () => {
    await createJob(
      'team-a',
      jobManifest(
        'fails',
        restrictedPodSpec({ stub: ['--stderr', 'boom', '--exit', '3'] }),
        { backoffLimit: 1 },
      ),
    );
    const cond = await waitForJobFinished(admin, 'team-a', 'fails', 90_000);
    expect(cond).toMatchObject({
      type: 'Failed',
      reason: 'BackoffLimitExceeded',
    });
    const pods = await podsOfJob(admin, 'team-a', 'fails');
    expect(pods).toHaveLength(2);
    for (const p of pods) {
      expect(p.status.phase).toBe('Failed');
      const t = p.status.containerStatuses[0].state.terminated;
      expect(t.exitCode).toBe(3);
      expect(t.reason).toBe('Error');
      // FallbackToLogsOnError with an empty termination message: the log tail, as the kubelet keeps it
      expect(t.message).toBe('boom\n');
    }
  });

  it('fails the Job at once on a podFailurePolicy exit-code rule', async () => {
    await createJob(
      'team-a',
      jobManifest(
        'fatal',
        restrictedPodSpec({
          stub: ['--message', '{"code":"NO_SUCH_BUCKET"}', '--exit', '42'],
        }),
        {
          backoffLimit: 5,
          podFailurePolicy: {
            rules: [
              {
                action: 'FailJob',
                onExitCodes: {
                  containerName: 'restore',
                  operator: 'In',
                  values: [42],
                },
              },
            ],
          },
        },
      ),
    );
    const cond = await waitForJobFinished(admin, 'team-a', 'fatal');
    expect(cond).toMatchObject({ type: 'Failed', reason: 'PodFailurePolicy' });
    const pods = await podsOfJob(admin, 'team-a', 'fatal');
    expect(pods).toHaveLength(1);
    expect(pods[0].status.containerStatuses[0].state.terminated).toMatchObject({
      exitCode: 42,
      message: '{"code":"NO_SUCH_BUCKET"}',
    });
  });

  it('keeps only the last 4096 bytes of the termination message', async () => {
    const long = `${'x'.repeat(5000)}END`;
    await createJob(
      'team-a',
      jobManifest('longmsg', restrictedPodSpec({ stub: ['--message', long] })),
    );
    await waitForJobFinished(admin, 'team-a', 'longmsg');
    const [pod] = await podsOfJob(admin, 'team-a', 'longmsg');
    const msg = pod.status.containerStatuses[0].state.terminated.message;
    expect(msg).toHaveLength(4096);
    expect(msg.endsWith('END')).toBe(true);

    // a message at the cap goes through the kubelet intact
    const exact = JSON.stringify({
      phase: 'Succeeded',
      pad: 'y'.repeat(4096 - 30),
    });
    expect(Buffer.byteLength(exact)).toBe(4096);
    await createJob(
      'team-a',
      jobManifest(
        'exactmsg',
        restrictedPodSpec({ stub: ['--message', exact] }),
      ),
    );
    await waitForJobFinished(admin, 'team-a', 'exactmsg');
    const [atCap] = await podsOfJob(admin, 'team-a', 'exactmsg');
    expect(atCap.status.containerStatuses[0].state.terminated.message).toBe(
      exact,
    );
  });

  it('deletes a finished Job and its pods after ttlSecondsAfterFinished', async () => {
    // The TTL is set once the Job has finished (the field is mutable): with a TTL from the start, a
    // busy machine could see the Job deleted before it ever saw it finished.
    await createJob(
      'team-a',
      jobManifest('ttl', restrictedPodSpec({ stub: ['--print', 'bye'] })),
    );
    await waitForJobFinished(admin, 'team-a', 'ttl');
    expect(await podsOfJob(admin, 'team-a', 'ttl')).toHaveLength(1);
    await admin.patch(
      '/apis/batch/v1/namespaces/team-a/jobs/ttl',
      { spec: { ttlSecondsAfterFinished: 1 } },
      'merge',
    );
    await waitUntil(
      'the TTL controller to delete the Job',
      async () =>
        !(await exists(admin, '/apis/batch/v1/namespaces/team-a/jobs/ttl')),
      60_000,
    );
    await waitUntil(
      'the garbage collector to delete its pods',
      async () => (await podsOfJob(admin, 'team-a', 'ttl')).length === 0,
      60_000,
    );
  });
});

describe('pod environment', () => {
  it('resolves secretKeyRef, configMapKeyRef and fieldRef; a missing Secret is CreateContainerConfigError until it exists', async () => {
    await admin.post('/api/v1/namespaces/team-a/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings' },
      data: { bucket: 'my-bucket' },
    });
    const env = [
      { name: 'PLAIN', value: 'plain-value' },
      { name: 'EXPANDED', value: 'x-$(PLAIN)' },
      {
        name: 'SECRET_KEY',
        valueFrom: { secretKeyRef: { name: 's3-creds', key: 'secretKey' } },
      },
      {
        name: 'BUCKET',
        valueFrom: { configMapKeyRef: { name: 'settings', key: 'bucket' } },
      },
      {
        name: 'POD_NAME',
        valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
      },
      {
        name: 'POD_NS',
        valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
      },
    ];
    const args = [
      'PLAIN',
      'EXPANDED',
      'SECRET_KEY',
      'BUCKET',
      'POD_NAME',
      'POD_NS',
    ].flatMap(n => ['--env', n]);
    await createJob(
      'team-a',
      jobManifest('envs', restrictedPodSpec({ env, stub: args })),
    );
    const pod = await waitUntil('CreateContainerConfigError', async () => {
      const [p] = await podsOfJob(admin, 'team-a', 'envs');
      return (
        p?.status?.containerStatuses?.[0]?.state?.waiting?.reason ===
          'CreateContainerConfigError' && p
      );
    });
    expect(pod.status.phase).toBe('Pending');
    expect(pod.status.containerStatuses[0].state.waiting.message).toBe(
      'secret "s3-creds" not found',
    );
    await admin.post('/api/v1/namespaces/team-a/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's3-creds' },
      stringData: { secretKey: 'sekrit' },
    });
    expect((await waitForJobFinished(admin, 'team-a', 'envs')).type).toBe(
      'Complete',
    );
    const log = await admin.get(
      `/api/v1/namespaces/team-a/pods/${pod.metadata.name}/log`,
      { raw: true },
    );
    expect(log.split('\n')).toEqual([
      'PLAIN=plain-value',
      'EXPANDED=x-plain-value',
      'SECRET_KEY=sekrit',
      'BUCKET=my-bucket',
      `POD_NAME=${pod.metadata.name}`,
      'POD_NS=team-a',
      '',
    ]);
  });

  it('runs the container as 65532 under a read-only root, /data and /tmp writable, no token, no capabilities', async () => {
    await admin.post(
      '/api/v1/namespaces/team-a/persistentvolumeclaims',
      pvcManifest('data-env'),
    );
    await createJob(
      'team-a',
      jobManifest(
        'mounts',
        restrictedPodSpec({
          pvc: 'data-env',
          stub: [
            '--whoami',
            '--env',
            'KUBE_RESTORE_TARGET',
            '--try-write',
            '/data/probe',
            '--try-write',
            '/tmp/probe',
            '--try-write',
            '/app/probe',
            '--exists',
            '/var/run/secrets/kubernetes.io/serviceaccount/token',
            '--status',
            'CapEff',
            '--status',
            'Seccomp',
            '--status',
            'NoNewPrivs',
          ],
        }),
      ),
    );
    await waitForJobFinished(admin, 'team-a', 'mounts');
    const [pod] = await podsOfJob(admin, 'team-a', 'mounts');
    const log = await admin.get(
      `/api/v1/namespaces/team-a/pods/${pod.metadata.name}/log`,
      { raw: true },
    );
    expect(log.split('\n')).toEqual([
      'uid=65532 gid=65532 groups=65532',
      'KUBE_RESTORE_TARGET=/data',
      '/data/probe: ok',
      '/tmp/probe: ok',
      '/app/probe: EROFS',
      '/var/run/secrets/kubernetes.io/serviceaccount/token: no',
      'CapEff: 0000000000000000',
      'Seccomp: 2',
      'NoNewPrivs: 1',
      '',
    ]);
    // the file landed in the PVC's directory on the node, owned by the pod's user and fsGroup
    const st = fs.statSync(
      path.join(await cluster.pvcPath('team-a', 'data-env'), 'probe'),
    );
    expect([st.uid, st.gid]).toEqual([65532, 65532]);
  });
});

describe('images and scheduling on the real nodes', () => {
  it('never pulls: an image that is not on the nodes fails to pull through the dead proxy', async () => {
    await admin.post('/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'nginx' },
      spec: {
        containers: [
          { name: 'web', image: 'nginx:1.27', imagePullPolicy: 'IfNotPresent' },
        ],
      },
    });
    const waiting = await waitUntil('a pull error', async () => {
      const p = await admin.get('/api/v1/namespaces/default/pods/nginx');
      const w = p.status.containerStatuses?.[0]?.state?.waiting;
      return w && /ErrImagePull|ImagePullBackOff/.test(w.reason) && w;
    });
    // containerd talks to registries only through a proxy on a closed loopback port
    const events = await admin.get('/api/v1/namespaces/default/events', {
      query: { fieldSelector: 'involvedObject.name=nginx' },
    });
    const messages = events.items.map((e: any) => e.message).join('\n');
    expect(`${waiting.message ?? ''}\n${messages}`).toMatch(/127\.0\.0\.1:9/);
    await admin.delete('/api/v1/namespaces/default/pods/nginx');
  });

  it('keeps a pod whose PVC nobody provisions Pending and unschedulable', async () => {
    await admin.post(
      '/api/v1/namespaces/team-a/persistentvolumeclaims',
      pvcManifest('elsewhere', '1Gi', 'some-other-class'),
    );
    await admin.post('/api/v1/namespaces/team-a/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'waits-for-pvc' },
      spec: restrictedPodSpec({ pvc: 'elsewhere' }),
    });
    const cond = await waitUntil('PodScheduled=False', async () => {
      const p = await admin.get('/api/v1/namespaces/team-a/pods/waits-for-pvc');
      return (p.status.conditions ?? []).find(
        (c: any) => c.type === 'PodScheduled' && c.status === 'False',
      );
    });
    expect(cond.message).toMatch(/unbound immediate PersistentVolumeClaims/);
  });
});

describe('deletion', () => {
  it('SIGTERMs, SIGKILLs after the grace period, then removes the pod', async () => {
    await admin.post('/api/v1/namespaces/team-a/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'stubborn' },
      spec: restrictedPodSpec({
        stub: ['--ignore-sigterm', '--print', 'started', '--sleep', '600000'],
        terminationGracePeriodSeconds: 2,
      }),
    });
    const pod = await waitUntil('Running', async () => {
      const p = await admin.get('/api/v1/namespaces/team-a/pods/stubborn');
      return p.status.phase === 'Running' && p;
    });
    expect(podProcesses(pod.metadata.uid).length).toBeGreaterThan(0);
    const t0 = Date.now();
    await admin.delete('/api/v1/namespaces/team-a/pods/stubborn');
    await waitUntil(
      'the pod to be gone',
      async () =>
        !(await exists(admin, '/api/v1/namespaces/team-a/pods/stubborn')),
      30_000,
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
    expect(podProcesses(pod.metadata.uid)).toEqual([]);
  });

  it('stops a Job past activeDeadlineSeconds (the Job controller deletes its pod)', async () => {
    await createJob(
      'team-a',
      jobManifest(
        'deadline',
        restrictedPodSpec({ stub: ['--tick', '200', '--sleep', '600000'] }),
        { activeDeadlineSeconds: 2 },
      ),
    );
    const pod = await waitUntil('Running', async () => {
      const [p] = await podsOfJob(admin, 'team-a', 'deadline');
      return p?.status.phase === 'Running' && p;
    });
    const cond = await waitForJobFinished(admin, 'team-a', 'deadline');
    expect(cond).toMatchObject({ type: 'Failed', reason: 'DeadlineExceeded' });
    await waitUntil(
      'the pod to be gone',
      async () => (await podsOfJob(admin, 'team-a', 'deadline')).length === 0,
      30_000,
    );
    expect(podProcesses(pod.metadata.uid)).toEqual([]);
  });
});

describe('logs', () => {
  it('serves pods/log with tailLines and follow through the apiserver', async () => {
    await createJob(
      'team-a',
      jobManifest(
        'ticker',
        restrictedPodSpec({
          stub: ['--lines', '3', '--tick', '100', '--sleep', '1500'],
        }),
      ),
    );
    const pod = await waitUntil('Running', async () => {
      const [p] = await podsOfJob(admin, 'team-a', 'ticker');
      return p?.status.phase === 'Running' && p;
    });
    const logPath = `/api/v1/namespaces/team-a/pods/${pod.metadata.name}/log`;
    // follow: streams while the process runs and ends when it exits
    const followed = await new Promise<string>((resolve, reject) => {
      const url = new URL(cluster.server);
      const kc = fs.readFileSync(cluster.kubeconfig.admin, 'utf8');
      const b64 = (k: string) =>
        Buffer.from(
          new RegExp(`${k}: (\\S+)`).exec(kc)![1],
          'base64',
        ).toString();
      const req = https.get(
        {
          host: url.hostname,
          port: url.port,
          path: `${logPath}?follow=true`,
          ca: cluster.ca,
          cert: b64('client-certificate-data'),
          key: b64('client-key-data'),
        },
        res => {
          let body = '';
          res.on('data', c => (body += c));
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', reject);
    });
    const lines = followed.trim().split('\n');
    expect(lines.slice(0, 3)).toEqual(['line 1', 'line 2', 'line 3']);
    expect(
      lines.filter(l => l.startsWith('tick ')).length,
    ).toBeGreaterThanOrEqual(5);
    await waitForJobFinished(admin, 'team-a', 'ticker');
    const tailed = await admin.get(logPath, {
      raw: true,
      query: { tailLines: 2 },
    });
    expect(tailed.trim().split('\n')).toEqual(lines.slice(-2));
    // kubectl logs, as a person would
    const k = await kubectl(
      cluster.kubeconfig.alice,
      'logs',
      '-n',
      'team-a',
      pod.metadata.name,
      '--tail=1',
    );
    expect(k.code).toBe(0);
    expect(k.stdout.trim()).toBe(lines[lines.length - 1]);
  });
});

describe('exec', () => {
  it('runs a command in a running container through the apiserver and the kubelet', async () => {
    await admin.post('/api/v1/namespaces/team-a/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'exec-target' },
      spec: restrictedPodSpec({
        stub: ['--sleep', '600000'],
        terminationGracePeriodSeconds: 0,
      }),
    });
    await waitUntil('Running', async () => {
      const p = await admin.get('/api/v1/namespaces/team-a/pods/exec-target');
      return p.status.phase === 'Running';
    });
    const r = await kubectl(
      cluster.kubeconfig.alice,
      'exec',
      '-n',
      'team-a',
      'exec-target',
      '--',
      '/nodejs/bin/node',
      '-e',
      'process.stdout.write(`${process.getuid()} ${require("os").hostname()}`)',
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('65532 exec-target');
    await admin.delete('/api/v1/namespaces/team-a/pods/exec-target');
  });
});

describe('apiserver restart', () => {
  it('keeps the nodes working across a kube-apiserver restart', async () => {
    const before = cluster.pids().apiserver;
    await cluster.restartApiServer();
    expect(cluster.pids().apiserver).not.toBe(before);
    await createJob(
      'team-a',
      jobManifest(
        'after-restart',
        restrictedPodSpec({ stub: ['--print', 'still here'] }),
      ),
    );
    expect(
      (await waitForJobFinished(admin, 'team-a', 'after-restart')).type,
    ).toBe('Complete');
    const [pod] = await podsOfJob(admin, 'team-a', 'after-restart');
    expect(
      await admin.get(
        `/api/v1/namespaces/team-a/pods/${pod.metadata.name}/log`,
        { raw: true },
      ),
    ).toBe('still here\n');
  });

  it('reports a pod that ended while the kube-apiserver was down once it is back (the Job finishes)', async () => {
    await createJob(
      'team-a',
      jobManifest(
        'ends-in-outage',
        restrictedPodSpec({ stub: ['--sleep', '120000'] }),
      ),
    );
    const pod = await waitUntil('Running', async () => {
      const [p] = await podsOfJob(admin, 'team-a', 'ends-in-outage');
      return p?.status.phase === 'Running' && p;
    });
    const pids = podProcesses(pod.metadata.uid);
    expect(pids.length).toBeGreaterThan(0);
    await cluster.restartApiServer({
      // End the container while no kube-apiserver listens: its final status cannot land now.
      onStopped: async () => {
        for (const pid of pids) process.kill(pid, 'SIGTERM');
        await waitUntil(
          'the container to exit during the outage',
          async () => podProcesses(pod.metadata.uid).length === 0,
          20_000,
        );
      },
    });
    expect(
      (await waitForJobFinished(admin, 'team-a', 'ends-in-outage')).type,
    ).toBe('Failed');
    const [ended] = await podsOfJob(admin, 'team-a', 'ends-in-outage');
    expect(ended.status.phase).toBe('Failed');
    expect(ended.status.containerStatuses[0].state.terminated.exitCode).toBe(
      143,
    );
  });
});

describe('S3', () => {
  it('serves MinIO with the exported credentials', async () => {
    const s3 = new S3Client({
      endpoint: cluster.s3!.endpoint,
      region: cluster.s3!.region,
      forcePathStyle: true,
      credentials: {
        accessKeyId: cluster.s3!.accessKeyId,
        secretAccessKey: cluster.s3!.secretAccessKey,
      },
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'harness' }));
    await s3.send(
      new PutObjectCommand({
        Bucket: 'harness',
        Key: 'a/b.txt',
        Body: 'content',
      }),
    );
    const got = await s3.send(
      new GetObjectCommand({ Bucket: 'harness', Key: 'a/b.txt' }),
    );
    expect(await got.Body!.transformToString()).toBe('content');
    s3.destroy();
    expect(cluster.env()).toMatchObject({
      KUBE_RESTORE_S3_ENDPOINT: cluster.s3!.endpoint,
      AWS_ACCESS_KEY_ID: cluster.s3!.accessKeyId,
      AWS_REGION: 'us-east-1',
    });
  });
});

it('runs the job image that npm run image built', () => {
  expect(TEST_JOB_IMAGE).toMatch(
    /^ghcr\.io\/kube-restore\/restore-job:\d+\.\d+\.\d+/,
  );
});
