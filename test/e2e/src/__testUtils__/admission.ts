/*
 * The set-up of the suites that test deploy/policy's admission (guardrails.test.ts,
 * populatorGuardrails.test.ts): a real API server with no node and no S3, deploy/ applied, kubectl
 * as the admin, clients acting as a ServiceAccount with its own token, dry-run answers, and the wait
 * until the API server enforces each of the ValidatingAdmissionPolicies.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  apiStatusMessage,
  createKubeClients,
  kubeConfigFromCluster,
  KubeClients,
  loadKubeConfig,
} from '@kube-restore/core';
import { Cluster, startCluster } from '@kube-restore/test-cluster';
import { clientsFrom, REPO_ROOT } from './harness';

export const DEPLOY = path.join(REPO_ROOT, 'deploy');

const run = promisify(execFile);

/** The real kubectl as the harness admin; resolves to its stdout. */
export type Kubectl = (...args: string[]) => Promise<string>;

export interface AdmissionCluster {
  cluster: Cluster;
  kubectl: Kubectl;
  admin: KubeClients;
}

/**
 * A cluster for admission tests (no node: no pod has to run; no S3) with `kubectl apply -k deploy`
 * done. The policies are not enforced yet when this returns: see waitForAdmissionPolicies().
 */
export async function startAdmissionCluster(): Promise<AdmissionCluster> {
  const cluster = await startCluster({ nodes: 0, s3: false });
  const kubectl: Kubectl = async (...args) =>
    (
      await run(cluster.binaries.kubectl, [
        '--kubeconfig',
        cluster.kubeconfig.admin,
        ...args,
      ])
    ).stdout;
  try {
    await kubectl('apply', '-k', DEPLOY);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return { cluster, kubectl, admin: clientsFrom(cluster.kubeconfig.admin) };
}

/**
 * `allowed`, or the status code and message of the API server's refusal (what a dry-run write
 * answers: nothing stays).
 */
export function answer(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'allowed',
    e => `${e.code}: ${apiStatusMessage(e)}`,
  );
}

type Job = Parameters<KubeClients['batch']['createNamespacedJob']>[0]['body'];

/**
 * Waits until the API server enforces every ValidatingAdmissionPolicy the suite tests (its informers
 * saw each policy and its binding; they may do so one at a time): until, for each, a dry-run write
 * that only that policy refuses, made as `as` (the operator or the populator), answers with that
 * policy's binding's refusal: `job` (a Job the Jobs policy refuses from the start), a Secret, a PVC
 * and a Lease of no restore in `namespace`, and with `volumes` (the populator) a patch of a volume
 * that is no prime PVC's (made for the probe, then deleted). Fails naming each policy never enforced
 * and its probe's last answer.
 */
export async function waitForAdmissionPolicies(
  { admin }: AdmissionCluster,
  as: KubeClients,
  namespace: string,
  job: Job,
  { volumes = false, timeoutMs = 60_000 } = {},
): Promise<void> {
  const dryRun = 'All';
  const probes: Record<string, () => Promise<string>> = {
    'kube-restore-operator-jobs': () =>
      answer(as.batch.createNamespacedJob({ namespace, body: job, dryRun })),
    'kube-restore-operator-secrets': () =>
      answer(
        as.core.createNamespacedSecret({
          namespace,
          body: { metadata: { name: 'probe-credentials' } },
          dryRun,
        }),
      ),
    'kube-restore-operator-volumes': () =>
      answer(
        as.core.createNamespacedPersistentVolumeClaim({
          namespace,
          body: {
            metadata: { name: 'probe' },
            spec: {
              accessModes: ['ReadWriteOnce'],
              resources: { requests: { storage: '1Gi' } },
            },
          },
          dryRun,
        }),
      ),
    'kube-restore-operator-leases': () =>
      answer(
        as.coordination.createNamespacedLease({
          namespace,
          body: { metadata: { name: 'probe' } },
          dryRun,
        }),
      ),
  };
  // a volume of a class no PVC asks for (it binds to none), Retain: not a prime PVC's to change
  const PV = 'kube-restore-policy-probe';
  if (volumes) {
    await admin.core.createPersistentVolume({
      body: {
        metadata: { name: PV },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: PV,
          hostPath: { path: `/tmp/${PV}` },
        },
      },
    });
    probes['kube-restore-populator-volumes'] = () =>
      answer(
        as.core.patchPersistentVolume({
          name: PV,
          body: [
            {
              op: 'replace',
              path: '/spec/persistentVolumeReclaimPolicy',
              value: 'Delete',
            },
          ],
          dryRun,
        }),
      );
  }
  const last = new Map<string, string>();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      for (const [policy, probe] of Object.entries(probes)) {
        const refusal = await probe();
        if (
          refusal.includes(
            `ValidatingAdmissionPolicy '${policy}' with binding '${policy}' denied`,
          )
        )
          delete probes[policy];
        else last.set(policy, refusal);
      }
      if (Object.keys(probes).length === 0) return;
      if (Date.now() > deadline)
        throw new Error(
          `the admission policies never took effect: ${Object.keys(probes)
            .map(
              policy => `${policy} (its probe's answer: ${last.get(policy)})`,
            )
            .join('; ')}`,
        );
      await new Promise(r => setTimeout(r, 100));
    }
  } finally {
    if (volumes) await admin.core.deletePersistentVolume({ name: PV });
  }
}

/**
 * API clients acting as the ServiceAccount `namespace/name`, with a TokenRequest token (what its
 * pod would hold), against the harness's API server.
 */
export async function serviceAccountClients(
  { cluster, kubectl }: AdmissionCluster,
  namespace: string,
  name: string,
): Promise<KubeClients> {
  const token = (
    await kubectl('create', 'token', name, '-n', namespace)
  ).trim();
  const server = loadKubeConfig({
    kubeconfig: cluster.kubeconfig.admin,
  }).getCurrentCluster()!;
  return createKubeClients(
    kubeConfigFromCluster({
      name,
      url: server.server,
      caData:
        server.caData ??
        (server.caFile ? readFileSync(server.caFile, 'utf8') : undefined),
      token,
    }),
  );
}
