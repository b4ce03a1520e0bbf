/*
 * A real node: containerd (with runc and the CNI bridge) and the kubelet of the apiserver's version,
 * with its own name, directories, ports, cgroup root and pod subnet, so that two of them can run on
 * this machine side by side. Settings this sandbox needs, and why:
 *   failCgroupV1: false       the host has cgroup v1, which kubelets since 1.35 refuse by default
 *   cgroupDriver: cgroupfs    no systemd here
 *   cgroupRoot                one per node: two kubelets must not manage each other's pod cgroups
 *   enforceNodeAllocatable: [] no reserved cgroups to enforce on a shared machine
 *   resolvConf                a file of ours without nameservers: pods resolve nothing outside
 *   node IP = the bridge's    the apiserver reaches the kubelet there for logs and exec
 *   image GC off              the images were imported and cannot be pulled again
 *   one kubelet start at once every kubelet binds its device-plugin socket at one fixed path,
 *                             whatever its --root-dir (see startKubeletInTurn)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KubeClient } from '../kube';
import { IssuedCert } from '../pki';
import { ManagedProcess, spawnManaged } from '../processes';
import { waitFor } from '../util';
import { createCgroupRoot } from './cgroups';
import { Containerd, startContainerd } from './containerd';
import { cniConfig, PodNetwork } from './network';
import { ResourceLedger } from './resources';

export interface NodeHandle {
  name: string;
  ip: string;
  kubeletPort: number;
  volumesDir: string;
  containerd: Containerd;
  kubelet: ManagedProcess;
}

export interface StartNodeOptions {
  runId: string;
  name: string;
  dir: string;
  logDir: string;
  net: PodNetwork;
  kubeletBinary: string;
  cniBinDir: string;
  /** image archives imported into containerd before the kubelet starts */
  images: string[];
  kubeconfigYaml: string;
  serving: IssuedCert;
  clientCaFile: string;
  ports: { kubelet: number; healthz: number };
  ledger: ResourceLedger;
  env: NodeJS.ProcessEnv;
  log: (msg: string) => void;
}

/** Where every kubelet binds its device-plugin socket (a constant of the kubelet's, not its root-dir's). */
const DEVICE_PLUGIN_SOCKET = '/var/lib/kubelet/device-plugins/kubelet.sock';
/** How long a kubelet's turn waits for its socket before the next kubelet starts anyway. */
const SOCKET_WAIT_MS = 20_000;
let kubeletTurns: Promise<unknown> = Promise.resolve();

/**
 * Starts a kubelet once the one started before it has bound the device-plugin socket. Each kubelet
 * removes the socket file and binds it anew; two starting at once can both remove it before either
 * binds, and then the second bind fails (EADDRINUSE: "Failed to start ContainerManager") and stops
 * that kubelet, a node that never gets Ready (seen once in a bench's cluster start). One after
 * another, the later kubelet takes the socket over and the earlier keeps running (no test uses
 * device plugins).
 */
function startKubeletInTurn(
  start: () => ManagedProcess,
): Promise<ManagedProcess> {
  const socketNow = () => {
    try {
      const st = fs.statSync(DEVICE_PLUGIN_SOCKET);
      return `${st.ino}:${st.ctimeMs}`;
    } catch {
      return undefined;
    }
  };
  const turn = kubeletTurns.then(async () => {
    const before = socketNow();
    const kubelet = start();
    let exited = false;
    void kubelet.exited.then(() => (exited = true));
    const deadline = Date.now() + SOCKET_WAIT_MS;
    // until this kubelet's bind made the file anew (its inode, or a reused one's change time)
    for (;;) {
      const now = socketNow();
      if (exited || Date.now() > deadline || (now && now !== before)) break;
      await new Promise(resolve => setTimeout(resolve, 50));
    }
    return kubelet;
  });
  kubeletTurns = turn.catch(() => undefined);
  return turn;
}

export async function startNode(o: StartNodeOptions): Promise<NodeHandle> {
  const d = (...p: string[]) => path.join(o.dir, ...p);
  for (const sub of ['cni', 'kubelet', 'pod-logs', 'volumes', 'ipam'])
    fs.mkdirSync(d(sub), { recursive: true });
  fs.writeFileSync(
    d('cni', '10-kube-restore.conflist'),
    cniConfig(o.net, d('ipam')),
  );
  const containerd = await startContainerd({
    runId: o.runId,
    name: `containerd-${o.name}`,
    dir: d('containerd'),
    cniBinDir: o.cniBinDir,
    cniConfDir: d('cni'),
    logDir: o.logDir,
    env: o.env,
  });
  for (const image of o.images) await containerd.importImage(image);
  o.log(`${o.name}: containerd ready, ${o.images.length} images imported`);

  const cgroupRoot = createCgroupRoot(
    `kube-restore-${o.runId}-${o.name}`,
    o.ledger,
  );
  fs.writeFileSync(d('resolv.conf'), 'options ndots:1\n');
  fs.writeFileSync(d('kubeconfig.yaml'), o.kubeconfigYaml, { mode: 0o600 });
  const config = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: o.net.gateway,
    port: o.ports.kubelet,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: o.ports.healthz,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: false },
      x509: { clientCAFile: o.clientCaFile },
    },
    authorization: { mode: 'AlwaysAllow' },
    tlsCertFile: o.serving.certFile,
    tlsPrivateKeyFile: o.serving.keyFile,
    cgroupDriver: 'cgroupfs',
    cgroupRoot,
    failCgroupV1: false,
    failSwapOn: false,
    enforceNodeAllocatable: [],
    resolvConf: d('resolv.conf'),
    containerRuntimeEndpoint: `unix://${containerd.socket}`,
    podLogsDir: d('pod-logs'),
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: {
      'memory.available': '100Mi',
      'nodefs.available': '1%',
      'imagefs.available': '1%',
    },
    volumeStatsAggPeriod: '0s',
    serializeImagePulls: false,
    maxPods: 110,
    syncFrequency: '10s',
    nodeStatusReportFrequency: '1m',
    shutdownGracePeriod: '0s',
  };
  fs.writeFileSync(d('kubelet.json'), JSON.stringify(config, null, 2));
  const kubelet = await startKubeletInTurn(() =>
    spawnManaged(
      o.runId,
      `kubelet-${o.name}`,
      o.kubeletBinary,
      [
        `--config=${d('kubelet.json')}`,
        `--kubeconfig=${d('kubeconfig.yaml')}`,
        `--hostname-override=${o.name}`,
        `--node-ip=${o.net.gateway}`,
        `--root-dir=${d('kubelet')}`,
        `--cert-dir=${d('kubelet', 'pki')}`,
        `--node-labels=kube-restore.io/test-node=${o.name}`,
        '--v=1',
      ],
      { env: o.env, logFile: path.join(o.logDir, `kubelet-${o.name}.log`) },
    ),
  );
  return {
    name: o.name,
    ip: o.net.gateway,
    kubeletPort: o.ports.kubelet,
    volumesDir: d('volumes'),
    containerd,
    kubelet,
  };
}

/** Waits until every node is registered and Ready. */
export async function waitForNodesReady(
  admin: KubeClient,
  nodes: NodeHandle[],
  timeoutMs = 120_000,
): Promise<void> {
  for (const n of nodes) {
    await waitFor(
      `node ${n.name} Ready`,
      n.kubelet,
      async () => {
        try {
          const node = await admin.get(`/api/v1/nodes/${n.name}`);
          return (node.status?.conditions ?? []).some(
            (c: any) => c.type === 'Ready' && c.status === 'True',
          );
        } catch {
          return false;
        }
      },
      timeoutMs,
    );
  }
}
