/** The API clients core uses, made once from a KubeConfig. */
import {
  AuthorizationV1Api,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';

export interface KubeClients {
  kc: KubeConfig;
  core: CoreV1Api;
  batch: BatchV1Api;
  /** Leases: one writer per PVC (pvcLease.ts). */
  coordination: CoordinationV1Api;
  authz: AuthorizationV1Api;
  rbac: RbacAuthorizationV1Api;
}

export function createKubeClients(kc: KubeConfig): KubeClients {
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    batch: kc.makeApiClient(BatchV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
    authz: kc.makeApiClient(AuthorizationV1Api),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
  };
}
