/*
 * startCluster(): a real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager),
 * the local kubelet and MinIO, all on free loopback ports, with a fresh PKI and the identities the
 * tests need. See ../README.md.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KubeApiError, KubeClient } from './kube';
import { DEFAULT_JOB_IMAGE_PATTERN, LocalKubelet } from './kubelet';
import { checkOpenssl, Pki } from './pki';
import {
  BUILD_SCRIPT,
  ClusterBinaries,
  ensureBinaries,
  PACKAGE_DIR,
  REPO_ROOT,
} from './binaries';
import { cacheDir, createRun } from './run';
import { launchS3, S3Info, S3_REGION } from './s3';
import { freePort, freePorts, httpGet, waitFor } from './util';
import {
  killGroupOrPid,
  ManagedProcess,
  markedPids,
  spawnManaged,
} from './processes';

export { cacheDir, cleanStaleRuns, runsDir } from './run';
export { BUILD_SCRIPT, ensureBinaries, PACKAGE_DIR, REPO_ROOT };
export type { ClusterBinaries, S3Info };
export { S3_REGION };
export { freePort };

export const DEFAULT_JOB_COMMAND = [
  process.execPath,
  path.join(REPO_ROOT, 'job-image', 'dist', 'restore-job.cjs'),
];

export const NODE_NAME = 'kube-restore-local';
export const STORAGE_CLASS = 'local';
export const PROVISIONER = 'kube-restore.io/local';
export const OPERATOR_NAMESPACE = 'kube-restore';
export const OPERATOR_SERVICE_ACCOUNT = 'restore-operator';
export const TEAM_NAMESPACES = ['team-a', 'team-b'];

export interface StartClusterOptions {
  /** default: $KUBE_RESTORE_CACHE or ~/.cache/kube-restore */
  cacheDir?: string;
  /** the local command that stands in for the job image; default: node <repo>/job-image/dist/restore-job.cjs */
  jobCommand?: string[];
  /** which container images are the job program; default: any image whose repository ends with /restore-job */
  jobImage?: RegExp | ((image: string) => boolean);
  /** extra environment for job processes (the pod's own env wins) */
  jobEnv?: Record<string, string>;
  /** start MinIO (default true) */
  s3?: boolean;
  /** log harness messages to stderr too (default: only when KUBE_RESTORE_CLUSTER_VERBOSE=1) */
  verbose?: boolean;
  /** kill everything on SIGINT/SIGTERM/SIGHUP/exit of this process (default true) */
  installSignalHandlers?: boolean;
  /** leave the run directory (logs, volumes) on stop() (default false, or KUBE_RESTORE_KEEP=1) */
  keep?: boolean;
}

export interface Cluster {
  runId: string;
  runDir: string;
  server: string;
  caFile: string;
  ca: string;
  kubeconfig: { admin: string; operator: string; alice: string; bob: string };
  /** static bearer tokens of the token file (the same users as the certificates) */
  tokens: { alice: string; bob: string };
  s3?: S3Info;
  binaries: ClusterBinaries;
  kubernetesVersion: string;
  /** the harness's own admin client */
  admin: KubeClient;
  /** the environment `npm run -s cluster:up` exports */
  env(): Record<string, string>;
  /** PIDs of the servers */
  pids(): Record<string, number>;
  /** local directory behind a PVC */
  pvcPath(namespace: string, name: string): Promise<string>;
  /** a fresh namespace (Pod Security `restricted` unless told otherwise), with its default ServiceAccount */
  createNamespace(
    name: string,
    opts?: { restricted?: boolean; labels?: Record<string, string> },
  ): Promise<void>;
  /**
   * stop and start kube-apiserver (same port, same etcd): for watch-reconnect tests. `onStopped`
   * runs (and is awaited) once the old process has exited, before the new one starts: a test can
   * hold the outage open for as long as it needs.
   */
  restartApiServer(opts?: {
    onStopped?: () => void | Promise<void>;
  }): Promise<void>;
  stop(): Promise<void>;
}

function kubeconfigYaml(opts: {
  server: string;
  ca: string;
  user: string;
  cert?: string;
  key?: string;
  token?: string;
  namespace?: string;
}): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const userLines = opts.token
    ? [`    token: ${opts.token}`]
    : [
        `    client-certificate-data: ${b64(opts.cert!)}`,
        `    client-key-data: ${b64(opts.key!)}`,
      ];
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: kube-restore-test',
    '  cluster:',
    `    server: ${opts.server}`,
    `    certificate-authority-data: ${b64(opts.ca)}`,
    'users:',
    `- name: ${opts.user}`,
    '  user:',
    ...userLines,
    'contexts:',
    `- name: ${opts.user}@kube-restore-test`,
    '  context:',
    '    cluster: kube-restore-test',
    `    user: ${opts.user}`,
    ...(opts.namespace ? [`    namespace: ${opts.namespace}`] : []),
    `current-context: ${opts.user}@kube-restore-test`,
    '',
  ].join('\n');
}

// ------------------------------------------------------------------------------------------ start
export async function startCluster(
  options: StartClusterOptions = {},
): Promise<Cluster> {
  const t0 = Date.now();
  const cache = options.cacheDir ?? cacheDir();
  const r = await createRun({
    kind: 'cluster',
    cacheDir: cache,
    verbose: options.verbose,
    keep: options.keep,
    installSignalHandlers: options.installSignalHandlers,
  });
  const { runId, runDir, shmDir, logDir, log, state, writeState } = r;
  const procs: Record<string, ManagedProcess> = {};

  let kubelet: LocalKubelet | undefined;
  let admin: KubeClient | undefined;
  try {
    await checkOpenssl();
    const bins = await ensureBinaries(cache);
    const kubernetesVersion =
      /kube-apiserver-(v[^/]+)$/.exec(bins.kubeApiserver)?.[1] ?? 'unknown';
    log(`binaries ready (${Date.now() - t0} ms)`);

    const [etcdPort, etcdPeerPort, apiPort, kcmPort] = await freePorts(4);
    const pki = new Pki(path.join(runDir, 'pki'));
    await pki.init();
    const [
      apiServing,
      kubeletServing,
      kubeletClient,
      adminCert,
      kcmCert,
      aliceCert,
      bobCert,
      sa,
    ] = await Promise.all([
      pki.issue({
        name: 'apiserver',
        cn: 'kube-apiserver',
        usage: 'server',
        dns: [
          'localhost',
          'kubernetes',
          'kubernetes.default',
          'kubernetes.default.svc',
          'kubernetes.default.svc.cluster.local',
        ],
        ips: ['127.0.0.1', '10.96.0.1'],
      }),
      pki.issue({
        name: 'kubelet',
        cn: NODE_NAME,
        usage: 'server',
        dns: [NODE_NAME, 'localhost'],
        ips: ['127.0.0.1'],
      }),
      pki.issue({
        name: 'apiserver-kubelet-client',
        cn: 'kube-apiserver-kubelet-client',
        groups: ['system:masters'],
        usage: 'client',
      }),
      pki.issue({
        name: 'admin',
        cn: 'kube-restore-admin',
        groups: ['system:masters'],
        usage: 'client',
      }),
      pki.issue({
        name: 'kube-controller-manager',
        cn: 'system:kube-controller-manager',
        usage: 'client',
      }),
      pki.issue({
        name: 'alice',
        cn: 'alice',
        groups: ['team-a'],
        usage: 'client',
      }),
      pki.issue({ name: 'bob', cn: 'bob', usage: 'client' }),
      pki.serviceAccountKey(),
    ]);
    log(`PKI ready (${Date.now() - t0} ms)`);

    const server = `https://127.0.0.1:${apiPort}`;
    const tokens = {
      alice: crypto.randomBytes(16).toString('hex'),
      bob: crypto.randomBytes(16).toString('hex'),
    };
    const tokenFile = path.join(runDir, 'pki', 'tokens.csv');
    fs.writeFileSync(
      tokenFile,
      `${tokens.alice},alice,alice,"team-a"\n${tokens.bob},bob,bob\n`,
    );

    const kcDir = path.join(runDir, 'kubeconfig');
    fs.mkdirSync(kcDir, { recursive: true });
    const kubeconfig = {
      admin: path.join(kcDir, 'admin.yaml'),
      operator: path.join(kcDir, 'operator.yaml'),
      alice: path.join(kcDir, 'alice.yaml'),
      bob: path.join(kcDir, 'bob.yaml'),
    };
    const kcmKubeconfig = path.join(kcDir, 'kube-controller-manager.yaml');
    fs.writeFileSync(
      kubeconfig.admin,
      kubeconfigYaml({ server, ca: pki.ca, user: 'admin', ...adminCert }),
      { mode: 0o600 },
    );
    fs.writeFileSync(
      kubeconfig.alice,
      kubeconfigYaml({
        server,
        ca: pki.ca,
        user: 'alice',
        namespace: 'team-a',
        ...aliceCert,
      }),
      { mode: 0o600 },
    );
    fs.writeFileSync(
      kubeconfig.bob,
      kubeconfigYaml({ server, ca: pki.ca, user: 'bob', ...bobCert }),
      { mode: 0o600 },
    );
    fs.writeFileSync(
      kcmKubeconfig,
      kubeconfigYaml({
        server,
        ca: pki.ca,
        user: 'kube-controller-manager',
        ...kcmCert,
      }),
      { mode: 0o600 },
    );

    const childEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: runDir,
      TMPDIR: runDir,
    };

    // ---- etcd (tmpfs, no fsync)
    fs.mkdirSync(shmDir, { recursive: true });
    procs.etcd = spawnManaged(
      runId,
      'etcd',
      bins.etcd,
      [
        '--name=default',
        `--data-dir=${path.join(shmDir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
        '--quota-backend-bytes=2147483648',
      ],
      { env: childEnv, logFile: path.join(logDir, 'etcd.log') },
    );
    // ---- MinIO, in parallel
    const minio =
      (options.s3 ?? true)
        ? await launchS3({
            kind: 'minio',
            binary: bins.minio,
            runId,
            dataDir: path.join(runDir, 's3'),
            logDir,
            env: childEnv,
          })
        : undefined;
    if (minio) procs.minio = minio.proc;
    const s3: S3Info | undefined = minio?.info;
    await waitFor(
      'etcd',
      procs.etcd,
      async () =>
        (await httpGet(`http://127.0.0.1:${etcdPort}/health`)).body.includes(
          '"health":"true"',
        ),
      30_000,
    );
    log(`etcd ready (${Date.now() - t0} ms)`);

    // ---- kube-apiserver
    const apiArgs = [
      '--advertise-address=127.0.0.1',
      '--bind-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      `--tls-cert-file=${apiServing.certFile}`,
      `--tls-private-key-file=${apiServing.keyFile}`,
      `--client-ca-file=${pki.caFile}`,
      `--token-auth-file=${tokenFile}`,
      '--authorization-mode=RBAC',
      '--allow-privileged=true',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${sa.pubFile}`,
      `--service-account-signing-key-file=${sa.keyFile}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      `--kubelet-client-certificate=${kubeletClient.certFile}`,
      `--kubelet-client-key=${kubeletClient.keyFile}`,
      '--kubelet-preferred-address-types=InternalIP,Hostname',
      '--profiling=false',
      `--cert-dir=${path.join(runDir, 'apiserver-certs')}`,
      '--v=1',
    ];
    const startApi = () =>
      spawnManaged(runId, 'kube-apiserver', bins.kubeApiserver, apiArgs, {
        env: childEnv,
        logFile: path.join(logDir, 'kube-apiserver.log'),
      });
    procs.apiserver = startApi();
    const adminCreds = {
      server,
      ca: pki.ca,
      cert: adminCert.cert,
      key: adminCert.key,
    };
    admin = new KubeClient(adminCreds);
    const apiReady = (p: ManagedProcess) =>
      waitFor(
        'kube-apiserver',
        p,
        async () =>
          (await admin!.get('/readyz', { raw: true, timeoutMs: 2000 })) ===
          'ok',
        90_000,
      );
    await apiReady(procs.apiserver);
    log(`kube-apiserver ready (${Date.now() - t0} ms)`);

    // ---- kube-controller-manager
    procs.kcm = spawnManaged(
      runId,
      'kube-controller-manager',
      bins.kubeControllerManager,
      [
        `--kubeconfig=${kcmKubeconfig}`,
        `--authentication-kubeconfig=${kcmKubeconfig}`,
        `--authorization-kubeconfig=${kcmKubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${kcmPort}`,
        `--cert-dir=${path.join(runDir, 'kcm-certs')}`,
        `--controllers=${[
          'job-controller',
          'ttl-after-finished-controller',
          'garbage-collector-controller',
          'serviceaccount-controller',
          'serviceaccount-token-controller',
          'namespace-controller',
          'root-ca-certificate-publisher-controller',
          'persistentvolumeclaim-protection-controller',
          'persistentvolume-protection-controller',
          'clusterrole-aggregation-controller',
        ].join(',')}`,
        `--service-account-private-key-file=${sa.keyFile}`,
        `--root-ca-file=${pki.caFile}`,
        '--use-service-account-credentials=true',
        '--leader-elect=false',
        '--profiling=false',
        '--v=1',
      ],
      {
        env: childEnv,
        logFile: path.join(logDir, 'kube-controller-manager.log'),
      },
    );

    // ---- bootstrap objects (while the controller manager starts)
    // all three enforce Pod Security `restricted` (kube-restore as in deploy/rbac/namespace.yaml)
    for (const ns of [OPERATOR_NAMESPACE, ...TEAM_NAMESPACES]) {
      await admin.ensure('/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: ns,
          labels: {
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/enforce-version': 'latest',
            ...(ns === OPERATOR_NAMESPACE
              ? { 'app.kubernetes.io/name': 'kube-restore' }
              : {}),
          },
        },
      });
    }
    await admin.ensure(
      `/api/v1/namespaces/${OPERATOR_NAMESPACE}/serviceaccounts`,
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: OPERATOR_SERVICE_ACCOUNT },
      },
    );
    await admin.ensure(
      '/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings',
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'team-a-edit' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'edit',
        },
        subjects: [
          {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'User',
            name: 'alice',
          },
          {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'Group',
            name: 'team-a',
          },
        ],
      },
    );
    const tr = await admin.post(
      `/api/v1/namespaces/${OPERATOR_NAMESPACE}/serviceaccounts/${OPERATOR_SERVICE_ACCOUNT}/token`,
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 7 * 24 * 3600 },
      },
    );
    fs.writeFileSync(
      kubeconfig.operator,
      kubeconfigYaml({
        server,
        ca: pki.ca,
        user: 'restore-operator',
        token: tr.status.token,
        namespace: OPERATOR_NAMESPACE,
      }),
      { mode: 0o600 },
    );

    // ---- local kubelet
    kubelet = new LocalKubelet({
      client: new KubeClient(adminCreds),
      nodeName: NODE_NAME,
      runId,
      runDir,
      volumesDir: path.join(runDir, 'volumes'),
      jobCommand:
        options.jobCommand ?? jobCommandFromEnv() ?? DEFAULT_JOB_COMMAND,
      isJobImage:
        typeof options.jobImage === 'function'
          ? options.jobImage
          : (img: string) =>
              (options.jobImage instanceof RegExp
                ? options.jobImage
                : DEFAULT_JOB_IMAGE_PATTERN
              ).test(img),
      tls: { cert: kubeletServing.cert, key: kubeletServing.key, ca: pki.ca },
      storageClass: STORAGE_CLASS,
      provisioner: PROVISIONER,
      kubernetesVersion,
      apiServerPort: apiPort,
      jobEnv: options.jobEnv,
      log,
    });
    await kubelet.start();
    log(`local kubelet ready on port ${kubelet.port} (${Date.now() - t0} ms)`);

    await waitFor(
      'kube-controller-manager',
      procs.kcm,
      async () =>
        (
          await httpGet(`https://127.0.0.1:${kcmPort}/healthz`, {
            rejectUnauthorized: false,
          })
        ).body === 'ok',
      60_000,
    );
    // ServiceAccount admission rejects pods until `default` exists; the root CA ConfigMap feeds projected volumes.
    for (const ns of ['default', OPERATOR_NAMESPACE, ...TEAM_NAMESPACES]) {
      await waitForDefaultServiceAccount(admin, ns, procs.kcm);
    }
    await minio?.ready();
    log(`cluster ready (${Date.now() - t0} ms)`);

    const env = (): Record<string, string> => ({
      KUBECONFIG: kubeconfig.admin,
      KUBECONFIG_OPERATOR: kubeconfig.operator,
      KUBECONFIG_ALICE: kubeconfig.alice,
      KUBECONFIG_BOB: kubeconfig.bob,
      ...(s3
        ? {
            KUBE_RESTORE_S3_ENDPOINT: s3.endpoint,
            AWS_ACCESS_KEY_ID: s3.accessKeyId,
            AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
            AWS_REGION: s3.region,
          }
        : {}),
    });
    const pids = () =>
      Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, p.pid]));
    state.ready = true;
    state.pids = pids();
    state.env = env();
    state.kubectl = bins.kubectl;
    writeState();

    const stopProc = async (p: ManagedProcess | undefined, graceMs = 5000) => {
      if (!p || p.exitStatus !== undefined) return;
      killGroupOrPid(p.pid, 'SIGTERM');
      const t = setTimeout(() => killGroupOrPid(p.pid, 'SIGKILL'), graceMs);
      await p.exited;
      clearTimeout(t);
    };
    const adminClient = admin;
    const kubeletRef = kubelet;

    const cluster: Cluster = {
      runId,
      runDir,
      server,
      caFile: pki.caFile,
      ca: pki.ca,
      kubeconfig,
      tokens,
      s3,
      binaries: bins,
      kubernetesVersion,
      admin: adminClient,
      env,
      pids,
      pvcPath: (ns, name) => kubeletRef.pvcPath(ns, name),
      async createNamespace(name, opts = {}) {
        const labels: Record<string, string> = { ...(opts.labels ?? {}) };
        if (opts.restricted ?? true) {
          labels['pod-security.kubernetes.io/enforce'] = 'restricted';
          labels['pod-security.kubernetes.io/enforce-version'] = 'latest';
        }
        await adminClient.post('/api/v1/namespaces', {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name, labels },
        });
        await waitForDefaultServiceAccount(adminClient, name, procs.kcm);
      },
      async restartApiServer(opts = {}) {
        await stopProc(procs.apiserver, 10_000);
        await opts.onStopped?.();
        procs.apiserver = startApi();
        await apiReady(procs.apiserver);
        state.pids = pids();
        writeState();
        log('kube-apiserver restarted');
      },
      async stop() {
        if (r.finished) return;
        const ts = Date.now();
        await kubeletRef.stop().catch(e => log(`kubelet stop: ${e.message}`));
        await Promise.all([stopProc(procs.kcm), stopProc(procs.minio)]);
        await stopProc(procs.apiserver);
        await stopProc(procs.etcd);
        adminClient.close();
        const left = await r.finish();
        log(`stopped in ${Date.now() - ts} ms`);
        if (left.length)
          throw new Error(
            `cluster ${runId}: processes ${left.join(', ')} survived SIGKILL`,
          );
      },
    };
    return cluster;
  } catch (e) {
    await kubelet?.stop().catch(() => {});
    admin?.close();
    await r.finish();
    const logsNote = r.keep ? ` (logs kept in ${logDir})` : '';
    (e as Error).message =
      `startCluster failed: ${(e as Error).message}${logsNote}`;
    throw e;
  }
}

function jobCommandFromEnv(): string[] | undefined {
  const v = process.env.KUBE_RESTORE_JOB_COMMAND;
  if (!v) return undefined;
  if (v.trim().startsWith('[')) return JSON.parse(v);
  return v.split(/\s+/).filter(Boolean);
}

async function waitForDefaultServiceAccount(
  admin: KubeClient,
  ns: string,
  kcm: ManagedProcess | undefined,
) {
  await waitFor(
    `ServiceAccount ${ns}/default (kube-controller-manager)`,
    kcm,
    async () => {
      try {
        await admin.get(`/api/v1/namespaces/${ns}/serviceaccounts/default`);
        return true;
      } catch (e) {
        if (e instanceof KubeApiError && e.statusCode === 404) return false;
        throw e;
      }
    },
    60_000,
  );
}

export { markedPids };
