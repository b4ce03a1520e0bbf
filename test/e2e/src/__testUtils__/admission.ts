/*
 * The set-up of the suites that test deploy/policy's admission (guardrails.test.ts,
 * populatorGuardrails.test.ts): a real API server with no node and no S3, deploy/ applied, kubectl
 * as the admin, clients acting as a ServiceAccount with its own token, dry-run answers, and the wait
 * until the API server enforces the ValidatingAdmissionPolicies.
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

/**
 * Waits until the API server enforces the ValidatingAdmissionPolicies (its informers saw the policies
 * and their bindings): until `probe`, a write the policies refuse from the start, answers with a
 * policy's refusal. Fails naming the last answer when that never happens.
 */
export async function waitForAdmissionPolicies(
  probe: () => Promise<string>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await probe();
    if (last.includes('ValidatingAdmissionPolicy')) return;
    if (Date.now() > deadline)
      throw new Error(
        `the admission policies never took effect; the probe's answer: ${last}`,
      );
    await new Promise(r => setTimeout(r, 100));
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
