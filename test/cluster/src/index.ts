/**
 * @kube-restore/test-cluster: a real Kubernetes control plane (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler), real nodes (containerd, runc, CNI and a kubelet each)
 * that run the job image in containers, a local-path provisioner, and MinIO.
 *
 *   const cluster = await startCluster();
 *   ... cluster.kubeconfig.admin, cluster.s3, cluster.pvcPath(ns, pvc) ...
 *   await cluster.stop();
 */
export {
  startCluster,
  ensureBinaries,
  cleanStaleRuns,
  cacheDir,
  freePort,
  PACKAGE_DIR,
  REPO_ROOT,
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
export {
  JOB_IMAGE_ARCHIVE,
  POPULATOR_IMAGE,
  POPULATOR_IMAGE_ARCHIVE,
  pauseImageArchive,
} from './node/images';
export { PAUSE_IMAGE } from './node';
export { startS3Server, launchS3 } from './s3';
export type { S3Server, S3ServerKind } from './s3';
export * from './testing';
export { KubeClient, KubeApiError, Informer } from './kube';
export type { KubeCredentials, WatchEvent } from './kube';
export { markedPids, RUN_MARKER } from './processes';
export { Pki, checkOpenssl } from './pki';
export type { CertSpec, IssuedCert } from './pki';
