/*
 * startCluster(): a real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler), real nodes (containerd, runc, CNI bridge and a kubelet each, see node/), a
 * local-path provisioner and MinIO, with a fresh PKI and the identities the tests need. The control
 * plane listens on loopback; the kubelets and MinIO on the pod network's gateways. See ../README.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KubeApiError, KubeClient } from './kube';
import {
  cleanupNodeResources,
  LocalPathProvisioner,
  NodeHandle,
  nodeNames,
  preparePodNetworks,
  startNodes,
} from './node';
import {
  jobImageArchive,
  pauseImageArchive,
  populatorImageArchive,
} from './node/images';
import { createIdentities, kubeconfigYaml } from './identities';
import { checkOpenssl } from './pki';
import {
  BUILD_SCRIPT,
  ClusterBinaries,
  ensureBinaries,
  PACKAGE_DIR,
  REPO_ROOT,
} from './binaries';
import { cacheDir, createRun, runsDir } from './run';
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

export const STORAGE_CLASS = 'local';
export { PROVISIONER } from './node';
export const OPERATOR_NAMESPACE = 'kube-restore';
export const OPERATOR_SERVICE_ACCOUNT = 'restore-operator';
export const TEAM_NAMESPACES = ['team-a', 'team-b'];

export interface StartClusterOptions {
  /** default: $KUBE_RESTORE_CACHE or ~/.cache/kube-restore */
  cacheDir?: string;
  /** how many nodes (kubelets) to run; default 2, so that scheduling across nodes is real */
  nodes?: number;
  /** more image archives to import into every node (the job image and pause always are) */
  images?: string[];
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
  /** the nodes' names, addresses and kubelet ports */
  nodes: { name: string; ip: string; kubeletPort: number }[];
  /** local directory behind a bound PVC (on the node that holds it) */
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

  let provisioner: LocalPathProvisioner | undefined;
  let admin: KubeClient | undefined;
  try {
    await checkOpenssl();
    const bins = await ensureBinaries(cache);
    const kubernetesVersion =
      /kube-apiserver-(v[^/]+)$/.exec(bins.kubeApiserver)?.[1] ?? 'unknown';
    log(`binaries ready (${Date.now() - t0} ms)`);

    const names = nodeNames(options.nodes ?? 2);
    const images = [
      jobImageArchive(),
      populatorImageArchive(),
      await pauseImageArchive(cache, bins.pause),
      ...(options.images ?? []),
    ];
    const { ledger, networks } = preparePodNetworks({
      runId,
      runDir,
      runsDir: runsDir(cache),
      cacheDir: cache,
      count: names.length,
    });
    log(
      `pod networks ${networks.map(n => `${n.bridge} ${n.subnet}`).join(', ')}`,
    );

    const [etcdPort, etcdPeerPort, apiPort, kcmPort, schedPort] =
      await freePorts(5);
    const {
      pki,
      nodeCerts,
      apiServing,
      kubeletClient,
      adminCert,
      sa,
      server,
      tokens,
      tokenFile,
      kubeconfig,
      kcmKubeconfig,
      schedKubeconfig,
    } = await createIdentities({
      runDir,
      apiPort,
      nodes: names.map((name, i) => ({ name, ip: networks[i].gateway })),
    });
    log(`PKI ready (${Date.now() - t0} ms)`);

    const childEnv = {
      // containerd finds runc and its shim, the kubelet mount and umount, on the system's paths
      PATH: `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/local/sbin:/usr/sbin:/sbin`,
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
            // pods reach it on the first node's gateway; the host does too
            host: networks[0].gateway,
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
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
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
          // the populator's Deployment (deploy/populator)
          'deployment-controller',
          'replicaset-controller',
          'ttl-after-finished-controller',
          'garbage-collector-controller',
          'serviceaccount-controller',
          'serviceaccount-token-controller',
          'namespace-controller',
          'root-ca-certificate-publisher-controller',
          'persistentvolumeclaim-protection-controller',
          'persistentvolume-protection-controller',
          'persistentvolume-binder-controller',
          'clusterrole-aggregation-controller',
          'node-lifecycle-controller',
          'pod-garbage-collector-controller',
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
    // ---- kube-scheduler (volume binding included: it picks the node of a WaitForFirstConsumer PVC)
    procs.scheduler = spawnManaged(
      runId,
      'kube-scheduler',
      bins.kubeScheduler,
      [
        `--kubeconfig=${schedKubeconfig}`,
        `--authentication-kubeconfig=${schedKubeconfig}`,
        `--authorization-kubeconfig=${schedKubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${schedPort}`,
        '--leader-elect=false',
        '--profiling=false',
        '--v=1',
      ],
      { env: childEnv, logFile: path.join(logDir, 'kube-scheduler.log') },
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

    // ---- the nodes (containerd + kubelet each) and the provisioner
    const started = await startNodes({
      runId,
      runDir,
      logDir,
      names,
      networks,
      ledger,
      kubeletBinary: bins.kubelet,
      cniBinDir: bins.cniBinDir,
      images,
      identities: nodeCerts.map(c => ({
        kubeconfigYaml: kubeconfigYaml({
          server,
          ca: pki.ca,
          user: 'node',
          ...c.client,
        }),
        serving: c.serving,
      })),
      clientCaFile: pki.caFile,
      admin,
      storageClass: STORAGE_CLASS,
      env: childEnv,
      log,
    });
    provisioner = started.provisioner;
    const nodes: NodeHandle[] = started.nodes;
    nodes.forEach(n => {
      procs[`containerd-${n.name}`] = n.containerd.proc;
      procs[`kubelet-${n.name}`] = n.kubelet;
    });
    log(`nodes ready: ${names.join(', ')} (${Date.now() - t0} ms)`);

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
    const provisionerRef = provisioner;

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
      nodes: nodes.map(n => ({
        name: n.name,
        ip: n.ip,
        kubeletPort: n.kubeletPort,
      })),
      pvcPath: (ns, name) => provisionerRef.pvcPath(ns, name),
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
        await provisionerRef.stop();
        // kubelets first (nothing restarts containers), then the runtimes, then what they left
        await Promise.all(nodes.map(n => stopProc(n.kubelet)));
        await Promise.all(nodes.map(n => stopProc(n.containerd.proc)));
        cleanupNodeResources(runDir);
        await Promise.all([
          stopProc(procs.kcm),
          stopProc(procs.scheduler),
          stopProc(procs.minio),
        ]);
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
    await provisioner?.stop().catch(() => {});
    admin?.close();
    await r.finish();
    const logsNote = r.keep ? ` (logs kept in ${logDir})` : '';
    (e as Error).message =
      `startCluster failed: ${(e as Error).message}${logsNote}`;
    throw e;
  }
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
