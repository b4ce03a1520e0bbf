/* The harness cluster as the populator's tests use it: kubectl as admin, the populator's identity, S3 data. */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand, CreateBucketCommand } from '@aws-sdk/client-s3';
import {
  createKubeClients,
  createS3Client,
  kubeConfigFromCluster,
  KubeClients,
  loadKubeConfig,
} from '@kube-restore/core';
import { Cluster } from '@kube-restore/test-cluster';
import { Populator } from '../controller';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');
export const POPULATOR_DEPLOY = path.join(REPO_ROOT, 'deploy', 'populator');

const run = promisify(execFile);

export type Kubectl = (args: string[], stdin?: string) => Promise<string>;

/** The real kubectl as the harness admin; stdin for `apply -f -`. */
export function kubectlAs(cluster: Cluster, kubeconfig: string): Kubectl {
  return async (args, stdin) => {
    const child = run(
      cluster.binaries.kubectl,
      ['--kubeconfig', kubeconfig, ...args],
      {
        maxBuffer: 16 << 20,
      },
    );
    if (stdin !== undefined) {
      child.child.stdin!.end(stdin);
    }
    try {
      return (await child).stdout;
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(
        `kubectl ${args.join(' ')}: ${err.stderr || err.message}`,
      );
    }
  };
}

export const POLICY_DEPLOY = path.join(REPO_ROOT, 'deploy', 'policy');

/**
 * `kubectl apply -k deploy/policy`: the admission guardrails, which cover the populator's writes too
 * (test/e2e/src/populatorGuardrails.test.ts). waitForGuardrails() tells when they are enforced.
 */
export async function applyGuardrails(kubectl: Kubectl): Promise<void> {
  await kubectl(['apply', '-k', POLICY_DEPLOY]);
}

/**
 * Waits until the API server enforces deploy/policy for the populator (its informers saw the policies
 * and bindings): a Lease the populator may create by RBAC but not by the policy is refused.
 */
export async function waitForGuardrails(kubectl: Kubectl): Promise<void> {
  const probe = JSON.stringify({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'not-the-populators', namespace: 'kube-restore' },
  });
  for (let i = 0; ; i++) {
    const answer = await kubectl(
      [
        'create',
        '--dry-run=server',
        '--as=system:serviceaccount:kube-restore:restore-populator',
        '-f',
        '-',
      ],
      probe,
    ).catch((e: Error) => e.message);
    if (answer.includes('ValidatingAdmissionPolicy')) return;
    if (i > 300) throw new Error(`deploy/policy never took effect: ${answer}`);
    await new Promise(r => setTimeout(r, 200));
  }
}

/**
 * Installs what `kubectl apply -k deploy/populator` installs, and the guardrails of deploy/policy
 * (enforced before this returns), except the Deployment (these tests run
 * the populator in-process as the same ServiceAccount, with short backoffs; deployment.cluster.test.ts
 * runs the Deployment itself), and opts `namespace` in.
 * Returns API clients acting as kube-restore/restore-populator with a TokenRequest token.
 */
export async function installPopulator(
  cluster: Cluster,
  kubectl: Kubectl,
  namespace: string,
): Promise<KubeClients> {
  const file = (f: string) => path.join(POPULATOR_DEPLOY, f);
  await kubectl([
    'apply',
    '-f',
    file('crd.yaml'),
    '-f',
    file('volumepopulator-crd.yaml'),
  ]);
  await kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/restoresources.kube-restore.io',
    'crd/volumepopulators.populator.storage.k8s.io',
  ]);
  for (const f of [
    'volumepopulator.yaml',
    'serviceaccount.yaml',
    'clusterrole.yaml',
    'aggregate-to-edit.yaml',
    'aggregate-to-view.yaml',
    'role.yaml',
  ])
    await kubectl(['apply', '-f', file(f)]);
  await kubectl(['apply', '-k', file('opt-in'), '-n', namespace]);
  await applyGuardrails(kubectl);
  await waitForGuardrails(kubectl);
  const token = (
    await kubectl([
      'create',
      'token',
      'restore-populator',
      '-n',
      'kube-restore',
      '--duration=2h',
    ])
  ).trim();
  const admin = loadKubeConfig({ kubeconfig: cluster.kubeconfig.admin });
  const server = admin.getCurrentCluster()!;
  const caData =
    server.caData ??
    (server.caFile
      ? (await import('node:fs')).readFileSync(server.caFile, 'utf8')
      : undefined);
  return createKubeClients(
    kubeConfigFromCluster({
      name: 'populator',
      url: server.server,
      caData,
      token,
    }),
  );
}

export async function seedBucket(
  cluster: Cluster,
  bucket: string,
  objects: Record<string, string | Buffer>,
): Promise<void> {
  const s3 = createS3Client(
    {
      endpoint: cluster.s3!.endpoint,
      region: cluster.s3!.region,
      pathStyle: true,
    },
    {
      accessKeyId: cluster.s3!.accessKeyId,
      secretAccessKey: cluster.s3!.secretAccessKey,
    },
  );
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const [Key, Body] of Object.entries(objects))
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
}

/** The Secret restoreSourceManifest names: the harness MinIO's keys, as createKeysSecret makes it. */
export const KEYS_SECRET = 's3-keys';

/** Creates KEYS_SECRET in `namespace` with the harness MinIO's keys. */
export async function createKeysSecret(
  cluster: Cluster,
  kubectl: Kubectl,
  namespace: string,
): Promise<void> {
  await kubectl([
    'create',
    'secret',
    'generic',
    KEYS_SECRET,
    '-n',
    namespace,
    `--from-literal=AWS_ACCESS_KEY_ID=${cluster.s3!.accessKeyId}`,
    `--from-literal=AWS_SECRET_ACCESS_KEY=${cluster.s3!.secretAccessKey}`,
  ]);
}

export interface TestPopulator {
  stop(): Promise<void>;
}

/**
 * Starts the populator in-process as `clients` (what installPopulator returns), with a short resync
 * and short backoffs so a retry happens within a test. stop() ends it; with
 * KUBE_RESTORE_POPULATOR_LOG=1 it then prints what the populator did, for a failing run.
 */
export function startPopulator(clients: KubeClients): TestPopulator {
  const log: string[] = [];
  const populator = new Populator({
    clients,
    resyncMs: 1000,
    backoff: { initialMs: 2000, maxMs: 4000 },
    log: m => log.push(m),
  });
  populator.start();
  return {
    stop: async () => {
      await populator.stop();
      if (process.env.KUBE_RESTORE_POPULATOR_LOG === '1')
        process.stderr.write(`${log.join('\n')}\n`);
    },
  };
}

export function yamlDocs(...docs: object[]): string {
  return docs.map(d => JSON.stringify(d)).join('\n---\n');
}

/** A RestoreSource over `<bucket>/set/` of the harness MinIO, keys from KEYS_SECRET. */
export function restoreSourceManifest(
  namespace: string,
  name: string,
  endpoint: string,
  bucket: string,
  options: object = {},
) {
  return {
    apiVersion: 'kube-restore.io/v1alpha1',
    kind: 'RestoreSource',
    metadata: { name, namespace },
    spec: {
      source: { endpoint, bucket, prefix: 'set/' },
      credentials: { type: 'secret', secretName: KEYS_SECRET },
      options: { backoffLimit: 0, ...options },
    },
  };
}

/** A PVC of the harness's `local` class (WaitForFirstConsumer) naming RestoreSource `source`. */
export function populatedPvc(namespace: string, name: string, source: string) {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'local',
      resources: { requests: { storage: '1Gi' } },
      dataSourceRef: {
        apiGroup: 'kube-restore.io',
        kind: 'RestoreSource',
        name: source,
      },
    },
  };
}
