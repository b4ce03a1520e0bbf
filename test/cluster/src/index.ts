/**
 * @kube-restore/test-cluster: a real Kubernetes control plane (etcd, kube-apiserver,
 * kube-controller-manager), a local kubelet for kube-restore job pods, and MinIO, on loopback.
 *
 *   const cluster = await startCluster({ jobCommand: [process.execPath, 'job-image/dist/restore-job.cjs'] });
 *   ... cluster.kubeconfig.admin, cluster.s3, cluster.pvcPath(ns, pvc) ...
 *   await cluster.stop();
 */
import * as path from 'node:path';
import { PACKAGE_DIR } from './cluster';

export {
  startCluster,
  ensureBinaries,
  cleanStaleRuns,
  cacheDir,
  freePort,
  DEFAULT_JOB_COMMAND,
  PACKAGE_DIR,
  REPO_ROOT,
  NODE_NAME,
  STORAGE_CLASS,
  PROVISIONER,
  OPERATOR_NAMESPACE,
  OPERATOR_SERVICE_ACCOUNT,
  TEAM_NAMESPACES,
  S3_REGION,
} from './cluster';
export type {
  Cluster,
  StartClusterOptions,
  S3Info,
  ClusterBinaries,
} from './cluster';
export { DEFAULT_JOB_IMAGE_PATTERN } from './kubelet';
export { startS3Server, launchS3 } from './s3';
export type { S3Server, S3ServerKind } from './s3';
export * from './testing';
export { KubeClient, KubeApiError, Informer } from './kube';
export type { KubeCredentials, WatchEvent } from './kube';
export { markedPids, RUN_MARKER } from './processes';
export { Pki, checkOpenssl } from './pki';
export type { CertSpec, IssuedCert } from './pki';

/** A scriptable stand-in for the job program (see fixtures/job-stub.cjs), for tests of the harness itself. */
export const JOB_STUB = path.join(PACKAGE_DIR, 'fixtures', 'job-stub.cjs');
/** jobCommand that runs JOB_STUB */
export const JOB_STUB_COMMAND = [process.execPath, JOB_STUB];
