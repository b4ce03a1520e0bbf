/*
 * deploy/populator's Deployment on the harness: `kubectl apply -k` of an overlay over deploy/populator
 * whose only change is how the pods reach the API server. The harness's apiserver listens on loopback
 * and there is no kube-proxy, so the in-cluster address (the kubernetes Service) leads nowhere: the
 * overlay points KUBERNETES_SERVICE_HOST at kubernetes.default.svc (a name in the serving
 * certificate), which hostAliases resolve to the pod network's gateway, where a TCP forwarder in this
 * process passes connections on to the apiserver. TLS is end to end, as in a real cluster.
 */
import { promises as fsp } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cluster } from '@kube-restore/test-cluster';
import { Kubectl, POPULATOR_DEPLOY, yamlDocs } from './cluster';

export interface Forwarder {
  host: string;
  port: number;
  close(): Promise<void>;
}

/** Listens on the pod network's gateway (where MinIO listens too) and forwards to the apiserver. */
export async function forwardApiServer(cluster: Cluster): Promise<Forwarder> {
  const host = new URL(cluster.s3!.endpoint).hostname;
  const target = new URL(cluster.server);
  const sockets = new Set<net.Socket>();
  const server = net.createServer(down => {
    const up = net.connect(Number(target.port), target.hostname);
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    down.on('error', () => up.destroy());
    up.on('error', () => down.destroy());
    down.pipe(up).pipe(down);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return {
    host,
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise(resolve => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * `kubectl apply -k` of the overlay (in a temporary directory), again once the CRDs are established
 * (a first apply of deploy/populator may say "no matches for kind VolumePopulator"). Returns the
 * overlay's directory.
 */
export async function applyPopulatorDeployment(
  kubectl: Kubectl,
  api: Forwarder,
): Promise<string> {
  const dir = await fsp.mkdtemp(
    path.join(os.tmpdir(), 'kr-populator-overlay-'),
  );
  const patch = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'restore-populator', namespace: 'kube-restore' },
    spec: {
      template: {
        spec: {
          hostAliases: [
            { ip: api.host, hostnames: ['kubernetes.default.svc'] },
          ],
          containers: [
            {
              name: 'populator',
              env: [
                {
                  name: 'KUBERNETES_SERVICE_HOST',
                  value: 'kubernetes.default.svc',
                },
                { name: 'KUBERNETES_SERVICE_PORT', value: String(api.port) },
              ],
            },
          ],
        },
      },
    },
  };
  await fsp.writeFile(
    path.join(dir, 'kustomization.yaml'),
    yamlDocs({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: [path.relative(dir, POPULATOR_DEPLOY)],
      patches: [{ patch: JSON.stringify(patch) }],
    }),
  );
  try {
    await kubectl(['apply', '-k', dir]);
  } catch (e) {
    if (!/no matches for kind/.test((e as Error).message)) throw e;
    await kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/restoresources.kube-restore.io',
      'crd/volumepopulators.populator.storage.k8s.io',
    ]);
    await kubectl(['apply', '-k', dir]);
  }
  return dir;
}
