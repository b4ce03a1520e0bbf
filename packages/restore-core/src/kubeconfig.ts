/** The one factory for KubeConfig, and namespace resolution exactly as kubectl does it. */
import { KubeConfig } from '@kubernetes/client-node';
import { existsSync, readFileSync } from 'node:fs';
import { RestoreError } from './errors';

export interface KubeConfigOptions {
  /** Path of a kubeconfig file; else $KUBECONFIG (colon-separated, merged), else ~/.kube/config. */
  kubeconfig?: string;
  /** Context to use instead of the current one. */
  context?: string;
  /** Use the pod's service account (in-cluster). Default: only when no kubeconfig is found in a pod. */
  inCluster?: boolean;
}

export const IN_CLUSTER_NAMESPACE_FILE =
  '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export function loadKubeConfig(options: KubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (options.inCluster) {
      kc.loadFromCluster();
    } else if (options.kubeconfig) {
      if (!existsSync(options.kubeconfig)) {
        throw new RestoreError(
          'Invalid',
          `kubeconfig ${options.kubeconfig} does not exist`,
        );
      }
      kc.loadFromFile(options.kubeconfig);
    } else {
      // true: the first file of $KUBECONFIG that sets current-context wins, as in kubectl (client-node's
      // default is the last one: another cluster than kubectl's, silently)
      kc.loadFromDefault(undefined, true);
    }
  } catch (error) {
    if (error instanceof RestoreError) throw error;
    throw new RestoreError(
      'Invalid',
      `cannot load the kubeconfig: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) {
      const known = kc.getContexts().map(c => c.name);
      throw new RestoreError(
        'Invalid',
        `context "${options.context}" is not in the kubeconfig${known.length ? ` (known: ${known.join(', ')})` : ''}`,
      );
    }
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new RestoreError(
      'Invalid',
      'no cluster is configured: set --kubeconfig, $KUBECONFIG or ~/.kube/config, or run in a pod',
    );
  }
  return kc;
}

/** `-n` first, then the context's namespace, then the pod's own namespace when in-cluster, then `default`. */
export function resolveNamespace(
  kc: KubeConfig,
  explicit?: string,
  inCluster = false,
): string {
  if (explicit) return explicit;
  const fromContext = kc.getContextObject(kc.getCurrentContext())?.namespace;
  if (fromContext) return fromContext;
  if (inCluster && existsSync(IN_CLUSTER_NAMESPACE_FILE)) {
    const ns = readFileSync(IN_CLUSTER_NAMESPACE_FILE, 'utf8').trim();
    if (ns) return ns;
  }
  return 'default';
}

/** The user name of the current context, for the requester annotation. */
export function currentUserName(kc: KubeConfig): string | undefined {
  return kc.getCurrentUser()?.name;
}
