/*
 * The real nodes of a cluster run: pod networks, then (in parallel) each node's containerd with the
 * images imported and its kubelet, then the local-path provisioner. See kubelet.ts for the settings.
 */
import * as path from 'node:path';
import { KubeClient } from '../kube';
import { IssuedCert } from '../pki';
import { freePorts } from '../util';
import { NodeHandle, startNode, waitForNodesReady } from './kubelet';
import { createPodNetworks, PodNetwork } from './network';
import { LocalPathProvisioner } from './provisioner';
import { ResourceLedger } from './resources';

export { PAUSE_IMAGE } from './containerd';
export { PROVISIONER } from './provisioner';
export { cleanupNodeResources, NODE_CLEANUP_SCRIPT } from './resources';
export type { NodeHandle } from './kubelet';
export type { PodNetwork } from './network';
export { LocalPathProvisioner };

export function nodeNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `kr-node-${i}`);
}

/** Step 1, before the PKI: the networks fix the nodes' addresses, which their serving certs name. */
export function preparePodNetworks(o: {
  runId: string;
  runDir: string;
  runsDir: string;
  cacheDir: string;
  count: number;
}): { ledger: ResourceLedger; networks: PodNetwork[] } {
  const ledger = new ResourceLedger(o.runDir);
  const networks = createPodNetworks({
    runId: o.runId,
    runsDir: o.runsDir,
    locksDir: path.join(o.cacheDir, 'pod-subnets'),
    count: o.count,
    ledger,
  });
  return { ledger, networks };
}

export async function startNodes(o: {
  runId: string;
  runDir: string;
  logDir: string;
  names: string[];
  networks: PodNetwork[];
  ledger: ResourceLedger;
  kubeletBinary: string;
  cniBinDir: string;
  images: string[];
  /** per node: its kubeconfig (client cert CN system:node:NAME) and serving cert */
  identities: { kubeconfigYaml: string; serving: IssuedCert }[];
  clientCaFile: string;
  admin: KubeClient;
  storageClass: string;
  env: NodeJS.ProcessEnv;
  log: (msg: string) => void;
}): Promise<{ nodes: NodeHandle[]; provisioner: LocalPathProvisioner }> {
  const ports = await freePorts(o.names.length * 2);
  const nodes = await Promise.all(
    o.names.map((name, i) =>
      startNode({
        runId: o.runId,
        name,
        dir: path.join(o.runDir, 'nodes', name),
        logDir: o.logDir,
        net: o.networks[i],
        kubeletBinary: o.kubeletBinary,
        cniBinDir: o.cniBinDir,
        images: o.images,
        kubeconfigYaml: o.identities[i].kubeconfigYaml,
        serving: o.identities[i].serving,
        clientCaFile: o.clientCaFile,
        ports: { kubelet: ports[2 * i], healthz: ports[2 * i + 1] },
        ledger: o.ledger,
        env: o.env,
        log: o.log,
      }),
    ),
  );
  const provisioner = new LocalPathProvisioner({
    client: o.admin,
    storageClass: o.storageClass,
    volumeDirs: Object.fromEntries(nodes.map(n => [n.name, n.volumesDir])),
    log: o.log,
  });
  await provisioner.start();
  await waitForNodesReady(o.admin, nodes);
  return { nodes, provisioner };
}
