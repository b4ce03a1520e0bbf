/** The kube-restore release this code belongs to; also the default job image tag. */
export const KUBE_RESTORE_VERSION = '0.1.0';
export const DEFAULT_JOB_IMAGE = `ghcr.io/kube-restore/restore-job:${KUBE_RESTORE_VERSION}`;
