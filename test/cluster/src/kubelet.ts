/*
 * The local kubelet: there is no container runtime, so the harness plays the kubelet for the pods
 * of restore Jobs. It registers a Ready Node, binds pending pods to it, provisions the `local`
 * StorageClass (one directory per PVC), runs the kube-restore job program as a local process with
 * the pod's env and mounts mapped to local directories, reports status like the kubelet does,
 * honours deletion, and serves container logs for pods/log. Any other pod stays Pending.
 */
import { spawn, ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { Informer, KubeApiError, KubeClient } from './kube';
import { killGroupOrPid, RUN_MARKER } from './processes';
import { sleep } from './util';

export const DEFAULT_JOB_IMAGE_PATTERN =
  /(^|\/)restore-job(:[\w][\w.-]*)?(@sha256:[a-f0-9]{64})?$/;

export interface LocalKubeletOptions {
  client: KubeClient;
  nodeName: string;
  runId: string;
  /** pods/ (per-pod scratch dirs and logs) lives here */
  runDir: string;
  /** one directory per provisioned PVC under here */
  volumesDir: string;
  jobCommand: string[];
  isJobImage: (image: string) => boolean;
  /** serving cert for the logs endpoint, and the CA that signed the apiserver's kubelet client cert */
  tls: { cert: string; key: string; ca: string };
  storageClass: string;
  provisioner: string;
  kubernetesVersion: string;
  apiServerPort: number;
  /** extra environment for every job process (the pod's env wins) */
  jobEnv?: Record<string, string>;
  log: (msg: string) => void;
}

interface LogLine {
  ts: Date;
  stream: 'stdout' | 'stderr';
  text: string;
}

interface ContainerRun {
  name: string;
  image: string;
  spec: any;
  waiting?: { reason: string; message?: string };
  proc?: ChildProcess;
  pid?: number;
  startedAt?: Date;
  finishedAt?: Date;
  exitCode?: number;
  terminatedReason?: string;
  message?: string;
  restartCount: number;
  lastTerminated?: any;
  termFile: string;
  logFile: string;
  lines: LogLine[];
  previousLines: LogLine[];
  events: EventEmitter;
  ended: boolean;
  restartTimer?: NodeJS.Timeout;
}

interface PodRun {
  uid: string;
  namespace: string;
  name: string;
  dir: string;
  containers: ContainerRun[];
  startTime: Date;
  started: boolean;
  starting: boolean;
  terminating: boolean;
  deleteSent: boolean;
  finalSent: boolean;
  killTimer?: NodeJS.Timeout;
  statusChain: Promise<void>;
  lastStatusJson?: string;
  nextConfigRetry: number;
}

class ConfigError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const MAX_MEMORY_LOG_LINES = 100_000;

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function rfc3339Nano(d: Date): string {
  return d.toISOString().replace(/Z$/, '000000Z');
}

function cpuQuantity(q: string): number {
  return q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q);
}

function parseQuantityBytes(q: string | undefined): number | undefined {
  if (!q) return undefined;
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q);
  if (!m) return undefined;
  const mult: Record<string, number> = {
    '': 1,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
  };
  const f = mult[m[2]];
  return f === undefined ? undefined : Math.round(Number(m[1]) * f);
}

export class LocalKubelet {
  private server?: https.Server;
  port = 0;
  private pods?: Informer;
  private pvcs?: Informer;
  private readonly runs = new Map<string, PodRun>();
  private readonly byName = new Map<string, PodRun>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly unschedulable = new Map<string, string>();
  private resyncTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly o: LocalKubeletOptions) {}

  // ---------------------------------------------------------------- lifecycle
  async start(): Promise<void> {
    fs.mkdirSync(path.join(this.o.runDir, 'pods'), { recursive: true });
    fs.mkdirSync(this.o.volumesDir, { recursive: true });
    await this.startLogServer();
    await this.registerNode();
    await this.ensureStorageClass();
    this.pvcs = new Informer(
      this.o.client,
      '/api/v1/persistentvolumeclaims',
      (t, pvc) => this.onPvc(t, pvc),
      this.o.log,
    );
    this.pods = new Informer(
      this.o.client,
      '/api/v1/pods',
      (t, pod) => this.onPod(t, pod),
      this.o.log,
    );
    this.pvcs.start();
    await this.pvcs.waitForSync();
    this.pods.start();
    await this.pods.waitForSync();
    this.resyncTimer = setInterval(() => this.resync(), 1000);
    this.resyncTimer.unref();
    this.heartbeatTimer = setInterval(() => {
      this.patchNodeStatus().catch(e =>
        this.o.log(`node heartbeat: ${e.message}`),
      );
    }, 20_000);
    this.heartbeatTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    await Promise.all([this.pods?.stop(), this.pvcs?.stop()]);
    for (const run of this.runs.values()) this.killRun(run, 'SIGKILL');
    await new Promise<void>(resolve => {
      if (!this.server) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
      (this.server as any).closeAllConnections?.();
    });
  }

  /** The local directory of a PVC provisioned by this kubelet (or of any hostPath/local PV). */
  async pvcPath(namespace: string, name: string): Promise<string> {
    const pvc = await this.o.client.get(
      `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${name}`,
    );
    if (!pvc.spec.volumeName)
      throw new Error(`PVC ${namespace}/${name} is not bound`);
    const pv = await this.o.client.get(
      `/api/v1/persistentvolumes/${pvc.spec.volumeName}`,
    );
    const p = pv.spec.hostPath?.path ?? pv.spec.local?.path;
    if (!p) throw new Error(`PV ${pv.metadata.name} has no local path`);
    return p;
  }

  // ---------------------------------------------------------------- node & storage class
  private nodeStatus(): any {
    const mem = os.totalmem();
    const capacity = {
      cpu: String(os.cpus().length),
      memory: `${Math.floor(mem / 1024)}Ki`,
      pods: '110',
      'ephemeral-storage': '100Gi',
    };
    const now = rfc3339(new Date());
    const cond = (
      type: string,
      status: string,
      reason: string,
      message: string,
    ) => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: now,
    });
    return {
      capacity,
      allocatable: capacity,
      conditions: [
        cond(
          'Ready',
          'True',
          'KubeletReady',
          'kube-restore local kubelet is posting ready status',
        ),
        cond(
          'MemoryPressure',
          'False',
          'KubeletHasSufficientMemory',
          'kubelet has sufficient memory available',
        ),
        cond(
          'DiskPressure',
          'False',
          'KubeletHasNoDiskPressure',
          'kubelet has no disk pressure',
        ),
        cond(
          'PIDPressure',
          'False',
          'KubeletHasSufficientPID',
          'kubelet has sufficient PID available',
        ),
      ],
      addresses: [
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'Hostname', address: this.o.nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.port } },
      nodeInfo: {
        machineID: this.o.runId,
        systemUUID: this.o.runId,
        bootID: this.o.runId,
        kernelVersion: os.release(),
        osImage: 'kube-restore local kubelet',
        containerRuntimeVersion: 'kube-restore-local://0.1.0',
        kubeletVersion: this.o.kubernetesVersion,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      },
    };
  }

  private async patchNodeStatus(): Promise<void> {
    await this.o.client.patch(
      `/api/v1/nodes/${this.o.nodeName}/status`,
      { status: this.nodeStatus() },
      'merge',
    );
  }

  private async registerNode(): Promise<void> {
    await this.o.client.ensure('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: this.o.nodeName,
        labels: {
          'kubernetes.io/hostname': this.o.nodeName,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
          'kube-restore.io/local-kubelet': 'true',
        },
      },
      spec: {},
    });
    await this.patchNodeStatus();
  }

  private async ensureStorageClass(): Promise<void> {
    await this.o.client.ensure('/apis/storage.k8s.io/v1/storageclasses', {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: {
        name: this.o.storageClass,
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
      provisioner: this.o.provisioner,
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
      allowVolumeExpansion: false,
    });
  }

  // ---------------------------------------------------------------- queueing
  private enqueue(key: string, fn: () => Promise<void>): void {
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev
      .then(fn)
      .catch(e => {
        if (!this.stopped) this.o.log(`${key}: ${(e as Error).stack ?? e}`);
      })
      .finally(() => {
        if (this.queues.get(key) === next) this.queues.delete(key);
      });
    this.queues.set(key, next);
  }

  private resync(): void {
    if (this.stopped) return;
    for (const pod of this.pods?.list() ?? [])
      this.enqueue(`pod:${pod.metadata.uid}`, () =>
        this.reconcilePod(pod.metadata.uid),
      );
    for (const pvc of this.pvcs?.list() ?? [])
      this.enqueue(`pvc:${pvc.metadata.uid}`, () =>
        this.reconcilePvc(pvc.metadata.uid),
      );
  }

  // ---------------------------------------------------------------- PVCs
  private onPvc(type: string, pvc: any): void {
    const uid = pvc.metadata.uid;
    if (type === 'DELETED') {
      this.enqueue(`pvc:${uid}`, () => this.releasePvc(pvc));
      return;
    }
    this.enqueue(`pvc:${uid}`, () => this.reconcilePvc(uid));
  }

  private async reconcilePvc(uid: string): Promise<void> {
    const pvc = this.pvcs?.get(uid);
    if (!pvc || pvc.metadata.deletionTimestamp || pvc.status?.phase === 'Bound')
      return;
    const ns = pvc.metadata.namespace;
    const name = pvc.metadata.name;
    const c = this.o.client;
    let pvName: string = pvc.spec.volumeName;
    let capacity = pvc.spec.resources?.requests?.storage ?? '1Gi';
    if (!pvName) {
      if (pvc.spec.storageClassName !== this.o.storageClass) return; // not ours to provision
      const dir = path.join(
        this.o.volumesDir,
        ns,
        `${name}-${uid.slice(0, 8)}`,
      );
      fs.mkdirSync(dir, { recursive: true });
      pvName = `pvc-${uid}`;
      await c.ensure('/api/v1/persistentvolumes', {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: {
          name: pvName,
          annotations: {
            'pv.kubernetes.io/provisioned-by': this.o.provisioner,
          },
          labels: { 'kube-restore.io/local-volume': 'true' },
        },
        spec: {
          capacity: { storage: capacity },
          accessModes: pvc.spec.accessModes ?? ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Delete',
          storageClassName: this.o.storageClass,
          volumeMode: pvc.spec.volumeMode ?? 'Filesystem',
          hostPath: { path: dir, type: 'DirectoryOrCreate' },
          claimRef: {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            namespace: ns,
            name,
            uid,
          },
        },
      });
      await c.patch(
        `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`,
        {
          metadata: {
            uid,
            annotations: {
              'pv.kubernetes.io/bind-completed': 'yes',
              'pv.kubernetes.io/bound-by-controller': 'yes',
              'volume.kubernetes.io/storage-provisioner': this.o.provisioner,
              'volume.beta.kubernetes.io/storage-provisioner':
                this.o.provisioner,
            },
          },
          spec: { volumeName: pvName },
        },
        'merge',
      );
    } else {
      // pre-bound claim: bind it if its PV exists and is local
      let pv: any;
      try {
        pv = await c.get(`/api/v1/persistentvolumes/${pvName}`);
      } catch (e) {
        if (e instanceof KubeApiError && e.statusCode === 404) return;
        throw e;
      }
      if (!pv.spec.hostPath && !pv.spec.local) return;
      capacity = pv.spec.capacity?.storage ?? capacity;
      if (!pv.spec.claimRef) {
        await c.patch(
          `/api/v1/persistentvolumes/${pvName}`,
          {
            spec: {
              claimRef: {
                apiVersion: 'v1',
                kind: 'PersistentVolumeClaim',
                namespace: ns,
                name,
                uid,
              },
            },
          },
          'merge',
        );
      }
    }
    await c.patch(
      `/api/v1/persistentvolumes/${pvName}/status`,
      { status: { phase: 'Bound' } },
      'merge',
    );
    await c.patch(
      `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}/status`,
      {
        status: {
          phase: 'Bound',
          accessModes: pvc.spec.accessModes ?? ['ReadWriteOnce'],
          capacity: { storage: capacity },
        },
      },
      'merge',
    );
    this.o.log(`PVC ${ns}/${name} bound to ${pvName}`);
  }

  private async releasePvc(pvc: any): Promise<void> {
    const pvName = pvc.spec.volumeName;
    if (!pvName) return;
    let pv: any;
    try {
      pv = await this.o.client.get(`/api/v1/persistentvolumes/${pvName}`);
    } catch {
      return;
    }
    if (
      pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] !==
      this.o.provisioner
    )
      return;
    if (pv.spec.claimRef?.uid !== pvc.metadata.uid) return;
    await this.o.client
      .delete(`/api/v1/persistentvolumes/${pvName}`)
      .catch(() => {});
    const dir = pv.spec.hostPath?.path;
    if (dir && dir.startsWith(this.o.volumesDir + path.sep))
      fs.rmSync(dir, { recursive: true, force: true });
    this.o.log(
      `PVC ${pvc.metadata.namespace}/${pvc.metadata.name} deleted: removed ${pvName}`,
    );
  }

  // ---------------------------------------------------------------- pods
  private onPod(type: string, pod: any): void {
    const uid = pod.metadata.uid;
    if (type === 'DELETED') {
      this.enqueue(`pod:${uid}`, async () => this.forgetPod(uid));
      return;
    }
    this.enqueue(`pod:${uid}`, () => this.reconcilePod(uid));
  }

  private podPath(pod: any, sub = ''): string {
    return `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}${sub}`;
  }

  /** Why this kubelet will not run the pod, or undefined if it will. */
  private refusal(pod: any): string | undefined {
    if (pod.spec.initContainers?.length) {
      return 'the kube-restore local kubelet does not run init containers';
    }
    for (const c of pod.spec.containers ?? []) {
      if (!this.o.isJobImage(c.image)) {
        return `the kube-restore local kubelet runs only the kube-restore job program (an image named .../restore-job); container "${c.name}" has image "${c.image}"`;
      }
    }
    return undefined;
  }

  private async setUnschedulable(pod: any, message: string): Promise<void> {
    const key = pod.metadata.uid;
    const existing = (pod.status?.conditions ?? []).find(
      (c: any) => c.type === 'PodScheduled',
    );
    if (existing?.status === 'False' && existing.message === message) return;
    if (this.unschedulable.get(key) === message) return;
    this.unschedulable.set(key, message);
    await this.o.client
      .patch(
        this.podPath(pod, '/status'),
        {
          status: {
            conditions: [
              {
                type: 'PodScheduled',
                status: 'False',
                reason: 'Unschedulable',
                message,
                lastTransitionTime: rfc3339(new Date()),
              },
            ],
          },
        },
        'strategic',
      )
      .catch(e => {
        this.unschedulable.delete(key);
        if (!(e instanceof KubeApiError && e.statusCode === 404)) throw e;
      });
  }

  private async reconcilePod(uid: string): Promise<void> {
    if (this.stopped) return;
    const pod = this.pods?.get(uid);
    if (!pod) return;
    const nodeName = pod.spec.nodeName;
    if (!nodeName) {
      if (pod.metadata.deletionTimestamp) return;
      if (
        (pod.spec.schedulerName ?? 'default-scheduler') !== 'default-scheduler'
      )
        return;
      const refusal = this.refusal(pod);
      if (refusal) {
        await this.setUnschedulable(pod, refusal);
        return;
      }
      for (const v of pod.spec.volumes ?? []) {
        if (!v.persistentVolumeClaim) continue;
        const claim = v.persistentVolumeClaim.claimName;
        const pvc = this.pvcs
          ?.list()
          .find(
            p =>
              p.metadata.namespace === pod.metadata.namespace &&
              p.metadata.name === claim,
          );
        if (!pvc) {
          await this.setUnschedulable(
            pod,
            `persistentvolumeclaim "${claim}" not found`,
          );
          return;
        }
        if (pvc.metadata.deletionTimestamp) {
          await this.setUnschedulable(
            pod,
            `persistentvolumeclaim "${claim}" is being deleted`,
          );
          return;
        }
        if (pvc.status?.phase !== 'Bound') {
          await this.setUnschedulable(
            pod,
            'pod has unbound immediate PersistentVolumeClaims',
          );
          return;
        }
      }
      await this.o.client
        .post(this.podPath(pod, '/binding'), {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: pod.metadata.name, uid },
          target: { apiVersion: 'v1', kind: 'Node', name: this.o.nodeName },
        })
        .catch(e => {
          if (
            e instanceof KubeApiError &&
            (e.statusCode === 409 || e.statusCode === 404)
          )
            return;
          throw e;
        });
      this.unschedulable.delete(uid);
      return;
    }
    if (nodeName !== this.o.nodeName) return;

    let run = this.runs.get(uid);
    if (pod.metadata.deletionTimestamp) {
      if (run && run.containers.some(c => c.proc && !c.ended)) {
        this.terminate(run, pod);
        return;
      }
      if (run?.starting) return; // retried on the next resync
      if (run && !run.finalSent && run.started) await this.pushStatus(run);
      if (!run || !run.deleteSent) {
        if (run) run.deleteSent = true;
        this.o.log(
          `pod ${pod.metadata.namespace}/${pod.metadata.name}: confirming the delete (grace 0)`,
        );
        await this.o.client
          .delete(this.podPath(pod), {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            gracePeriodSeconds: 0,
            preconditions: { uid },
          })
          .catch(e => {
            if (e instanceof KubeApiError && e.statusCode === 404) return;
            if (
              e instanceof KubeApiError &&
              e.statusCode === 409 &&
              /Precondition failed/i.test(e.message)
            )
              return;
            if (run) run.deleteSent = false; // retried on the next resync
            throw e;
          });
      }
      return;
    }
    if (!run) {
      const phase = pod.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') return; // finished before this kubelet started
      if (this.refusal(pod)) return; // bound by someone else; never run it
      run = this.newRun(pod);
    }
    if (!run.started && !run.starting && Date.now() >= run.nextConfigRetry) {
      run.starting = true;
      try {
        await this.startPod(run, pod);
      } finally {
        run.starting = false;
      }
    }
  }

  private newRun(pod: any): PodRun {
    const uid = pod.metadata.uid;
    const dir = path.join(
      this.o.runDir,
      'pods',
      `${pod.metadata.namespace}_${pod.metadata.name}_${uid}`,
    );
    fs.mkdirSync(dir, { recursive: true });
    const run: PodRun = {
      uid,
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      dir,
      startTime: new Date(),
      started: false,
      starting: false,
      terminating: false,
      deleteSent: false,
      finalSent: false,
      statusChain: Promise.resolve(),
      nextConfigRetry: 0,
      containers: pod.spec.containers.map((spec: any) => ({
        name: spec.name,
        image: spec.image,
        spec,
        restartCount: 0,
        termFile: path.join(dir, `${spec.name}.termination-log`),
        logFile: path.join(dir, `${spec.name}.log`),
        lines: [],
        previousLines: [],
        events: new EventEmitter().setMaxListeners(0),
        ended: false,
        waiting: { reason: 'ContainerCreating' },
      })),
    };
    this.runs.set(uid, run);
    this.byName.set(`${run.namespace}/${run.name}`, run);
    return run;
  }

  private forgetPod(uid: string): void {
    const run = this.runs.get(uid);
    this.unschedulable.delete(uid);
    if (!run) return;
    this.killRun(run, 'SIGKILL');
    this.runs.delete(uid);
    if (this.byName.get(`${run.namespace}/${run.name}`) === run)
      this.byName.delete(`${run.namespace}/${run.name}`);
    // keep logs a little for late readers, then remove the pod's scratch directory
    setTimeout(
      () => fs.rmSync(run.dir, { recursive: true, force: true }),
      5000,
    ).unref();
  }

  private killRun(run: PodRun, signal: NodeJS.Signals): void {
    if (run.killTimer) clearTimeout(run.killTimer);
    for (const c of run.containers) {
      if (c.restartTimer) clearTimeout(c.restartTimer);
      if (c.proc && !c.ended && c.pid) killGroupOrPid(c.pid, signal);
    }
  }

  private terminate(run: PodRun, pod: any): void {
    if (run.terminating) return;
    run.terminating = true;
    const grace =
      pod.metadata.deletionGracePeriodSeconds ??
      pod.spec.terminationGracePeriodSeconds ??
      30;
    this.o.log(
      `pod ${run.namespace}/${run.name} deleted: SIGTERM, SIGKILL after ${grace}s`,
    );
    for (const c of run.containers)
      if (c.restartTimer) clearTimeout(c.restartTimer);
    this.killRun(run, 'SIGTERM');
    run.killTimer = setTimeout(
      () => this.killRun(run, 'SIGKILL'),
      Math.max(grace, 0) * 1000,
    );
    run.killTimer.unref();
  }

  // ---------------------------------------------------------------- starting a pod
  private async getObject(
    kind: 'secrets' | 'configmaps',
    ns: string,
    name: string,
    optional: boolean,
  ): Promise<any> {
    try {
      return await this.o.client.get(
        `/api/v1/namespaces/${ns}/${kind}/${name}`,
      );
    } catch (e) {
      if (e instanceof KubeApiError && e.statusCode === 404) {
        if (optional) return undefined;
        throw new ConfigError(
          'CreateContainerConfigError',
          `${kind === 'secrets' ? 'secret' : 'configmap'} "${name}" not found`,
        );
      }
      throw e;
    }
  }

  private static dataOf(
    obj: any,
    kind: 'secrets' | 'configmaps',
  ): Record<string, Buffer> {
    const out: Record<string, Buffer> = {};
    if (!obj) return out;
    if (kind === 'secrets') {
      for (const [k, v] of Object.entries(obj.data ?? {}))
        out[k] = Buffer.from(String(v), 'base64');
    } else {
      for (const [k, v] of Object.entries(obj.data ?? {}))
        out[k] = Buffer.from(String(v), 'utf8');
      for (const [k, v] of Object.entries(obj.binaryData ?? {}))
        out[k] = Buffer.from(String(v), 'base64');
    }
    return out;
  }

  private fieldRef(pod: any, fieldPath: string): string {
    const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
    if (m) return pod.metadata[m[1]]?.[m[2]] ?? '';
    switch (fieldPath) {
      case 'metadata.name':
        return pod.metadata.name;
      case 'metadata.namespace':
        return pod.metadata.namespace;
      case 'metadata.uid':
        return pod.metadata.uid;
      case 'spec.nodeName':
        return pod.spec.nodeName ?? '';
      case 'spec.serviceAccountName':
        return pod.spec.serviceAccountName ?? '';
      case 'status.hostIP':
      case 'status.podIP':
        return '127.0.0.1';
      case 'status.hostIPs':
      case 'status.podIPs':
        return '127.0.0.1';
      default:
        throw new ConfigError(
          'CreateContainerConfigError',
          `unsupported fieldRef ${fieldPath}`,
        );
    }
  }

  private resourceFieldRef(container: any, ref: any): string {
    const res = ref.resource as string;
    const [kind, what] = res.split('.');
    const v = container.resources?.[kind]?.[what];
    if (what === 'cpu') {
      const cores = v ? cpuQuantity(v) : os.cpus().length;
      const divisor = ref.divisor ? cpuQuantity(ref.divisor) : 1;
      return String(Math.ceil(cores / divisor));
    }
    const bytes = parseQuantityBytes(v) ?? os.totalmem();
    const divisor = parseQuantityBytes(ref.divisor) ?? 1;
    return String(Math.ceil(bytes / divisor));
  }

  private static expand(value: string, env: Record<string, string>): string {
    // $(VAR) references to earlier variables; $$ escapes
    return value.replace(
      /\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g,
      (m, name) => {
        if (m === '$$') return '$';
        return name in env ? env[name] : m;
      },
    );
  }

  private async resolveEnv(
    pod: any,
    container: any,
  ): Promise<Record<string, string>> {
    const ns = pod.metadata.namespace;
    const env: Record<string, string> = {};
    for (const from of container.envFrom ?? []) {
      const kind = from.secretRef ? 'secrets' : 'configmaps';
      const ref = from.secretRef ?? from.configMapRef;
      const obj = await this.getObject(kind, ns, ref.name, !!ref.optional);
      for (const [k, v] of Object.entries(LocalKubelet.dataOf(obj, kind)))
        env[`${from.prefix ?? ''}${k}`] = v.toString('utf8');
    }
    for (const e of container.env ?? []) {
      if (e.value !== undefined) {
        env[e.name] = LocalKubelet.expand(e.value, env);
        continue;
      }
      const vf = e.valueFrom;
      if (!vf) {
        env[e.name] = '';
        continue;
      }
      if (vf.secretKeyRef || vf.configMapKeyRef) {
        const kind = vf.secretKeyRef ? 'secrets' : 'configmaps';
        const ref = vf.secretKeyRef ?? vf.configMapKeyRef;
        const obj = await this.getObject(kind, ns, ref.name, !!ref.optional);
        const data = LocalKubelet.dataOf(obj, kind);
        if (!(ref.key in data)) {
          if (ref.optional) continue;
          throw new ConfigError(
            'CreateContainerConfigError',
            `couldn't find key ${ref.key} in ${kind === 'secrets' ? 'Secret' : 'ConfigMap'} ${ns}/${ref.name}`,
          );
        }
        env[e.name] = data[ref.key].toString('utf8');
      } else if (vf.fieldRef) {
        env[e.name] = this.fieldRef(pod, vf.fieldRef.fieldPath);
      } else if (vf.resourceFieldRef) {
        env[e.name] = this.resourceFieldRef(container, vf.resourceFieldRef);
      }
    }
    return env;
  }

  private writeFiles(
    dir: string,
    data: Record<string, Buffer>,
    items?: { key: string; path: string }[],
    optional = false,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    const list = items ?? Object.keys(data).map(k => ({ key: k, path: k }));
    for (const it of list) {
      if (!(it.key in data)) {
        if (optional) continue;
        throw new ConfigError(
          'CreateContainerConfigError',
          `couldn't find key ${it.key}`,
        );
      }
      const target = path.join(dir, it.path);
      if (!target.startsWith(dir + path.sep))
        throw new ConfigError(
          'CreateContainerConfigError',
          `bad item path ${it.path}`,
        );
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, data[it.key]);
    }
  }

  /** Volume name -> local directory (or file) for this pod. */
  private async prepareVolumes(
    run: PodRun,
    pod: any,
  ): Promise<Map<string, string>> {
    const ns = pod.metadata.namespace;
    const vols = new Map<string, string>();
    for (const v of pod.spec.volumes ?? []) {
      const local = path.join(run.dir, 'volumes', v.name);
      if (v.persistentVolumeClaim) {
        vols.set(
          v.name,
          await this.pvcPath(ns, v.persistentVolumeClaim.claimName).catch(e => {
            throw new ConfigError(
              'CreateContainerConfigError',
              `volume "${v.name}": ${e.message}`,
            );
          }),
        );
      } else if (v.emptyDir) {
        fs.mkdirSync(local, { recursive: true });
        vols.set(v.name, local);
      } else if (v.hostPath) {
        vols.set(v.name, v.hostPath.path);
      } else if (v.secret) {
        const obj = await this.getObject(
          'secrets',
          ns,
          v.secret.secretName,
          !!v.secret.optional,
        );
        this.writeFiles(
          local,
          LocalKubelet.dataOf(obj, 'secrets'),
          v.secret.items,
          !!v.secret.optional,
        );
        vols.set(v.name, local);
      } else if (v.configMap) {
        const obj = await this.getObject(
          'configmaps',
          ns,
          v.configMap.name,
          !!v.configMap.optional,
        );
        this.writeFiles(
          local,
          LocalKubelet.dataOf(obj, 'configmaps'),
          v.configMap.items,
          !!v.configMap.optional,
        );
        vols.set(v.name, local);
      } else if (v.projected) {
        fs.mkdirSync(local, { recursive: true });
        for (const src of v.projected.sources ?? []) {
          if (src.serviceAccountToken) {
            const sa = pod.spec.serviceAccountName ?? 'default';
            const tr = await this.o.client.post(
              `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`,
              {
                apiVersion: 'authentication.k8s.io/v1',
                kind: 'TokenRequest',
                spec: {
                  audiences: src.serviceAccountToken.audience
                    ? [src.serviceAccountToken.audience]
                    : [],
                  expirationSeconds:
                    src.serviceAccountToken.expirationSeconds ?? 3607,
                  boundObjectRef: {
                    apiVersion: 'v1',
                    kind: 'Pod',
                    name: pod.metadata.name,
                    uid: pod.metadata.uid,
                  },
                },
              },
            );
            this.writeFiles(local, { t: Buffer.from(tr.status.token) }, [
              { key: 't', path: src.serviceAccountToken.path },
            ]);
          } else if (src.configMap || src.secret) {
            const kind = src.secret ? 'secrets' : 'configmaps';
            const ref = src.secret ?? src.configMap;
            const obj = await this.getObject(
              kind,
              ns,
              ref.name,
              !!ref.optional,
            );
            this.writeFiles(
              local,
              LocalKubelet.dataOf(obj, kind),
              ref.items,
              !!ref.optional,
            );
          } else if (src.downwardAPI) {
            const data: Record<string, Buffer> = {};
            const items = (src.downwardAPI.items ?? []).map((it: any) => {
              data[it.path] = Buffer.from(
                it.fieldRef ? this.fieldRef(pod, it.fieldRef.fieldPath) : '',
              );
              return { key: it.path, path: it.path };
            });
            this.writeFiles(local, data, items);
          }
        }
        vols.set(v.name, local);
      } else if (v.downwardAPI) {
        const data: Record<string, Buffer> = {};
        const items = (v.downwardAPI.items ?? []).map((it: any) => {
          data[it.path] = Buffer.from(
            it.fieldRef ? this.fieldRef(pod, it.fieldRef.fieldPath) : '',
          );
          return { key: it.path, path: it.path };
        });
        this.writeFiles(local, data, items);
        vols.set(v.name, local);
      } else {
        throw new ConfigError(
          'CreateContainerConfigError',
          `volume "${v.name}": type not supported by the local kubelet`,
        );
      }
    }
    return vols;
  }

  private async startPod(run: PodRun, pod: any): Promise<void> {
    let prepared: {
      c: ContainerRun;
      argv: string[];
      env: NodeJS.ProcessEnv;
      cwd: string;
    }[];
    try {
      const vols = await this.prepareVolumes(run, pod);
      prepared = [];
      for (const c of run.containers) {
        prepared.push(await this.prepareContainer(run, pod, c, vols));
      }
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      run.nextConfigRetry = Date.now() + 2000;
      let changed = false;
      for (const c of run.containers) {
        if (c.waiting?.reason !== e.reason || c.waiting?.message !== e.message)
          changed = true;
        c.waiting = { reason: e.reason, message: e.message };
      }
      if (changed)
        this.o.log(
          `pod ${run.namespace}/${run.name}: ${e.reason}: ${e.message}`,
        );
      await this.pushStatus(run);
      return;
    }
    run.started = true;
    run.startTime = new Date();
    for (const p of prepared)
      this.spawnContainer(run, p.c, p.argv, p.env, p.cwd);
    await this.pushStatus(run);
  }

  private async prepareContainer(
    run: PodRun,
    pod: any,
    c: ContainerRun,
    vols: Map<string, string>,
  ): Promise<{
    c: ContainerRun;
    argv: string[];
    env: NodeJS.ProcessEnv;
    cwd: string;
  }> {
    const spec = c.spec;
    const mounts: { containerPath: string; hostPath: string }[] = [];
    for (const m of spec.volumeMounts ?? []) {
      const base = vols.get(m.name);
      if (!base)
        throw new ConfigError(
          'CreateContainerConfigError',
          `volume "${m.name}" not found`,
        );
      let host = base;
      if (m.subPath) {
        host = path.join(base, m.subPath);
        fs.mkdirSync(host, { recursive: true });
      }
      mounts.push({
        containerPath: m.mountPath.replace(/\/+$/, '') || '/',
        hostPath: host,
      });
    }
    mounts.sort((a, b) => b.containerPath.length - a.containerPath.length);
    const translate = (p: string): string => {
      for (const m of mounts) {
        if (p === m.containerPath) return m.hostPath;
        if (p.startsWith(`${m.containerPath}/`))
          return path.join(m.hostPath, p.slice(m.containerPath.length + 1));
      }
      return p;
    };
    const translateArg = (a: string): string => {
      if (a.startsWith('/')) return translate(a);
      const eq = /^(--?[A-Za-z0-9_.-]+=)(\/.*)$/.exec(a);
      return eq ? eq[1] + translate(eq[2]) : a;
    };

    const podEnv = await this.resolveEnv(pod, spec);
    const expandArgs = (xs: string[] | undefined) =>
      (xs ?? []).map(x => LocalKubelet.expand(x, podEnv));
    const command = expandArgs(spec.command);
    const args = expandArgs(spec.args);
    let argv: string[];
    if (command.length === 0) argv = [...this.o.jobCommand, ...args];
    else if (path.basename(command[0]) === 'restore-job')
      argv = [...this.o.jobCommand, ...command.slice(1), ...args];
    else
      throw new ConfigError(
        'CreateContainerError',
        `the local kubelet runs only the restore-job entrypoint; container "${c.name}" has command ${JSON.stringify(spec.command)}`,
      );
    argv = [
      argv[0],
      ...argv
        .slice(1)
        .map((a, i) =>
          i < this.o.jobCommand.length - 1 ? a : translateArg(a),
        ),
    ];

    const scratch = path.join(run.dir, 'scratch', c.name);
    fs.mkdirSync(path.join(scratch, 'home'), { recursive: true });
    fs.mkdirSync(path.join(scratch, 'tmp'), { recursive: true });
    fs.rmSync(c.termFile, { force: true });
    fs.writeFileSync(c.termFile, '');

    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: path.join(scratch, 'home'),
      HOSTNAME: pod.metadata.name,
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(this.o.apiServerPort),
      ...(process.env.NODE_V8_COVERAGE
        ? { NODE_V8_COVERAGE: process.env.NODE_V8_COVERAGE }
        : {}),
      ...this.o.jobEnv,
    };
    for (const [k, v] of Object.entries(podEnv))
      env[k] = v.startsWith('/') ? translate(v) : v;
    const tmpMount = translate('/tmp');
    env.TMPDIR = tmpMount !== '/tmp' ? tmpMount : path.join(scratch, 'tmp');
    if (podEnv.KUBE_RESTORE_TARGET === undefined) {
      const data = translate('/data');
      if (data !== '/data') env.KUBE_RESTORE_TARGET = data;
    }
    env.TERMINATION_MESSAGE_PATH = c.termFile;
    env.KUBE_RESTORE_LOCAL_MOUNTS = JSON.stringify(
      Object.fromEntries(mounts.map(m => [m.containerPath, m.hostPath])),
    );
    env[RUN_MARKER] = this.o.runId;
    const cwd = spec.workingDir
      ? translate(spec.workingDir)
      : path.join(scratch, 'home');
    if (!fs.existsSync(cwd)) fs.mkdirSync(cwd, { recursive: true });
    return { c, argv, env, cwd };
  }

  private appendLog(
    c: ContainerRun,
    stream: 'stdout' | 'stderr',
    text: string,
  ): void {
    const line: LogLine = { ts: new Date(), stream, text };
    c.lines.push(line);
    if (c.lines.length > MAX_MEMORY_LOG_LINES)
      c.lines.splice(0, c.lines.length - MAX_MEMORY_LOG_LINES);
    try {
      fs.appendFileSync(
        c.logFile,
        `${rfc3339Nano(line.ts)} ${stream} ${text}\n`,
      );
    } catch {
      /* pod dir removed */
    }
    c.events.emit('line', line);
  }

  private spawnContainer(
    run: PodRun,
    c: ContainerRun,
    argv: string[],
    env: NodeJS.ProcessEnv,
    cwd: string,
  ): void {
    c.waiting = undefined;
    c.ended = false;
    c.exitCode = undefined;
    c.finishedAt = undefined;
    c.message = undefined;
    c.startedAt = new Date();
    let proc: ChildProcess;
    try {
      proc = spawn(argv[0], argv.slice(1), {
        env,
        cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (e) {
      this.containerExited(
        run,
        c,
        128,
        `failed to start ${argv[0]}: ${(e as Error).message}`,
      );
      return;
    }
    c.proc = proc;
    c.pid = proc.pid;
    this.o.log(
      `pod ${run.namespace}/${run.name} container ${c.name}: started pid ${proc.pid}: ${argv.join(' ')}`,
    );
    const partial: Record<string, string> = { stdout: '', stderr: '' };
    const onData = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      partial[stream] += chunk.toString('utf8');
      for (
        let i = partial[stream].indexOf('\n');
        i >= 0;
        i = partial[stream].indexOf('\n')
      ) {
        this.appendLog(c, stream, partial[stream].slice(0, i));
        partial[stream] = partial[stream].slice(i + 1);
      }
    };
    proc.stdout!.on('data', onData('stdout'));
    proc.stderr!.on('data', onData('stderr'));
    let exitCode: number | undefined;
    let spawnError: string | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      for (const s of ['stdout', 'stderr'] as const)
        if (partial[s]) this.appendLog(c, s, partial[s]);
      this.containerExited(run, c, exitCode ?? 128, spawnError);
    };
    proc.on('error', err => {
      spawnError = `failed to start ${argv[0]}: ${err.message}`;
      exitCode = 128;
      finish();
    });
    proc.on('exit', (code, signal) => {
      exitCode =
        code ??
        128 + (signal ? ((os.constants.signals as any)[signal] ?? 9) : 9);
      // grandchildren may hold the pipes open: do not wait for them forever
      setTimeout(finish, 2000).unref();
    });
    proc.on('close', () => finish());
  }

  private containerExited(
    run: PodRun,
    c: ContainerRun,
    exitCode: number,
    startError?: string,
  ): void {
    c.ended = true;
    c.exitCode = exitCode;
    c.finishedAt = new Date();
    if (exitCode === 0) c.terminatedReason = 'Completed';
    else c.terminatedReason = startError ? 'StartError' : 'Error';
    let msg = '';
    try {
      const buf = fs.readFileSync(c.termFile);
      msg = buf.subarray(Math.max(0, buf.length - 4096)).toString('utf8');
    } catch {
      /* none */
    }
    if (!msg && startError) msg = startError;
    if (
      !msg &&
      exitCode !== 0 &&
      c.spec.terminationMessagePolicy === 'FallbackToLogsOnError'
    ) {
      const tail = c.lines
        .slice(-80)
        .map(l => l.text)
        .join('\n');
      const b = Buffer.from(tail, 'utf8');
      msg = b.subarray(Math.max(0, b.length - 2048)).toString('utf8');
    }
    c.message = msg || undefined;
    c.events.emit('end');
    this.o.log(
      `pod ${run.namespace}/${run.name} container ${c.name}: exited ${exitCode}`,
    );
    const restartPolicy =
      this.pods?.get(run.uid)?.spec.restartPolicy ?? 'Never';
    if (
      !run.terminating &&
      !this.stopped &&
      (restartPolicy === 'Always' ||
        (restartPolicy === 'OnFailure' && exitCode !== 0))
    ) {
      c.lastTerminated = { terminated: this.terminatedState(c) };
      const delay = Math.min(10_000 * 2 ** c.restartCount, 300_000);
      c.waiting = {
        reason: 'CrashLoopBackOff',
        message: `back-off ${delay / 1000}s restarting failed container=${c.name} pod=${run.name}`,
      };
      c.restartTimer = setTimeout(() => {
        const pod = this.pods?.get(run.uid);
        if (!pod || pod.metadata.deletionTimestamp || run.terminating) return;
        c.restartCount++;
        c.previousLines = c.lines;
        c.lines = [];
        this.enqueue(`pod:${run.uid}`, async () => {
          try {
            const vols = await this.prepareVolumes(run, pod);
            const p = await this.prepareContainer(run, pod, c, vols);
            this.spawnContainer(run, c, p.argv, p.env, p.cwd);
          } catch (e) {
            c.waiting = {
              reason: (e as ConfigError).reason ?? 'CreateContainerError',
              message: (e as Error).message,
            };
          }
          await this.pushStatus(run);
        });
      }, delay);
      c.restartTimer.unref();
    }
    this.pushStatus(run).then(
      () => {
        if (run.containers.every(x => x.ended) && run.terminating) {
          // the pod was being deleted: confirm the delete now
          this.enqueue(`pod:${run.uid}`, () => this.reconcilePod(run.uid));
        }
      },
      e => this.o.log(`status of ${run.namespace}/${run.name}: ${e.message}`),
    );
  }

  private terminatedState(c: ContainerRun): any {
    return {
      exitCode: c.exitCode,
      reason: c.terminatedReason,
      ...(c.message ? { message: c.message } : {}),
      startedAt: rfc3339(c.startedAt ?? new Date()),
      finishedAt: rfc3339(c.finishedAt ?? new Date()),
      containerID: `local://${c.pid ?? 0}`,
    };
  }

  // ---------------------------------------------------------------- status
  private buildStatus(run: PodRun, pod: any): any {
    const now = rfc3339(new Date());
    const statuses = run.containers.map(c => {
      let state: any;
      if (c.waiting) state = { waiting: c.waiting };
      else if (c.ended) state = { terminated: this.terminatedState(c) };
      else
        state = { running: { startedAt: rfc3339(c.startedAt ?? new Date()) } };
      return {
        name: c.name,
        image: c.image,
        imageID: `local://${c.image}`,
        ...(c.pid ? { containerID: `local://${c.pid}` } : {}),
        ready: !!state.running,
        started: !!state.running,
        restartCount: c.restartCount,
        state,
        ...(c.lastTerminated ? { lastState: c.lastTerminated } : {}),
      };
    });
    const restartPolicy = pod.spec.restartPolicy ?? 'Always';
    const allEnded = run.containers.every(c => c.ended && !c.waiting);
    let phase = 'Pending';
    if (run.started) phase = 'Running';
    if (allEnded) {
      if (
        run.containers.every(c => c.exitCode === 0) &&
        restartPolicy !== 'Always'
      )
        phase = 'Succeeded';
      else if (restartPolicy === 'Never' || run.terminating) phase = 'Failed';
    }
    const allRunning = run.containers.every(
      c => c.proc && !c.ended && !c.waiting,
    );
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    let readyReason: string | undefined;
    if (terminal) readyReason = 'PodCompleted';
    else if (!allRunning) readyReason = 'ContainersNotReady';
    const cond = (type: string, status: boolean, reason?: string) => ({
      type,
      status: status ? 'True' : 'False',
      ...(reason ? { reason } : {}),
      lastTransitionTime: now,
    });
    const conditions = [
      cond('PodReadyToStartContainers', run.started),
      cond('Initialized', true),
      cond('Ready', allRunning && !terminal, readyReason),
      cond('ContainersReady', allRunning && !terminal, readyReason),
      cond('PodScheduled', true),
    ];
    // keep transition times stable when status does not change
    for (const c of conditions) {
      const old = (pod.status?.conditions ?? []).find(
        (x: any) => x.type === c.type,
      );
      if (old && old.status === c.status && old.lastTransitionTime)
        c.lastTransitionTime = old.lastTransitionTime;
    }
    return {
      phase,
      conditions,
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: '127.0.0.1',
      podIPs: [{ ip: '127.0.0.1' }],
      startTime: rfc3339(run.startTime),
      containerStatuses: statuses,
    };
  }

  /**
   * Strategic-merge PATCH of pods/status, serialised per pod; never Running after a terminal phase.
   * Like the kubelet's status manager, a PATCH that fails because the kube-apiserver is away
   * (connection refused, 5xx, 429) is retried with backoff until it lands: a container that ends
   * during an apiserver restart must still reach its Job as Succeeded or Failed.
   */
  private pushStatus(run: PodRun): Promise<void> {
    const next = run.statusChain.then(async () => {
      for (let backoff = 200; ; backoff = Math.min(5000, backoff * 2)) {
        if (this.stopped || run.finalSent) return;
        const pod = this.pods?.get(run.uid);
        if (!pod) return;
        const status = this.buildStatus(run, pod);
        const json = JSON.stringify({
          ...status,
          conditions: status.conditions.map((c: any) => ({
            ...c,
            lastTransitionTime: '',
          })),
        });
        if (json === run.lastStatusJson) return;
        try {
          await this.o.client.patch(
            this.podPath(pod, '/status'),
            { metadata: { uid: run.uid }, status },
            'strategic',
          );
        } catch (e) {
          if (e instanceof KubeApiError) {
            if (e.statusCode === 404 || e.statusCode === 409) return;
            if (e.statusCode !== 429 && e.statusCode < 500) throw e;
          }
          this.o.log(
            `status of ${run.namespace}/${run.name}: ${(e as Error).message}; retrying in ${backoff} ms`,
          );
          await sleep(backoff);
          continue;
        }
        run.lastStatusJson = json;
        if (status.phase === 'Succeeded' || status.phase === 'Failed')
          run.finalSent = true;
        return;
      }
    });
    run.statusChain = next.catch(() => {});
    return next;
  }

  // ---------------------------------------------------------------- logs
  private startLogServer(): Promise<void> {
    this.server = https.createServer(
      {
        cert: this.o.tls.cert,
        key: this.o.tls.key,
        ca: this.o.tls.ca,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        try {
          this.serveLogs(req, res);
        } catch (e) {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end(String((e as Error).message));
        }
      },
    );
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, '127.0.0.1', () => {
        this.port = (this.server!.address() as any).port;
        resolve();
      });
    });
  }

  private serveLogs(req: any, res: any): void {
    const url = new URL(req.url, 'https://localhost');
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)\/?$/.exec(
      url.pathname,
    );
    if (req.method !== 'GET' || !m) {
      if (url.pathname === '/healthz') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok');
        return;
      }
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('404 page not found');
      return;
    }
    const [ns, podName, containerName] = m.slice(1).map(decodeURIComponent);
    const run = this.byName.get(`${ns}/${podName}`);
    const c = run?.containers.find(x => x.name === containerName);
    if (!run || !c) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end(`container "${containerName}" in pod "${podName}" not found`);
      return;
    }
    const q = url.searchParams;
    const previous = q.get('previous') === 'true';
    if (!previous && !c.proc && !c.ended) {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end(
        `container "${containerName}" in pod "${podName}" is waiting to start: ${c.waiting?.reason ?? 'ContainerCreating'}`,
      );
      return;
    }
    const follow = q.get('follow') === 'true' && !previous;
    const timestamps = q.get('timestamps') === 'true';
    const tailLines = q.has('tailLines')
      ? Number(q.get('tailLines'))
      : undefined;
    let limitBytes = q.has('limitBytes')
      ? Number(q.get('limitBytes'))
      : Infinity;
    let since: number | undefined;
    if (q.has('sinceSeconds'))
      since = Date.now() - Number(q.get('sinceSeconds')) * 1000;
    if (q.has('sinceTime')) since = Date.parse(q.get('sinceTime')!);

    res.writeHead(200, {
      'Content-Type': 'text/plain',
      'Transfer-Encoding': 'chunked',
    });
    let closed = false;
    let finish = () => {};
    const write = (l: LogLine): boolean => {
      if (closed) return false;
      if (since !== undefined && l.ts.getTime() < since) return true;
      let s = `${timestamps ? `${rfc3339Nano(l.ts)} ` : ''}${l.text}\n`;
      if (Buffer.byteLength(s) > limitBytes)
        s = Buffer.from(s).subarray(0, limitBytes).toString();
      limitBytes -= Buffer.byteLength(s);
      res.write(s);
      if (limitBytes <= 0) {
        finish();
        return false;
      }
      return true;
    };
    const onLine = (l: LogLine) => write(l);
    finish = () => {
      if (closed) return;
      closed = true;
      c.events.off('line', onLine);
      c.events.off('end', finish);
      res.end();
    };
    const source = previous ? c.previousLines : c.lines;
    const lines =
      tailLines !== undefined && tailLines >= 0
        ? source.slice(Math.max(0, source.length - tailLines))
        : source;
    for (const l of lines) if (!write(l)) return;
    if (!follow || c.ended) {
      finish();
      return;
    }
    c.events.on('line', onLine);
    c.events.on('end', finish);
    req.on('close', finish);
  }
}
