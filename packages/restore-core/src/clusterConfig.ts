/**
 * A KubeConfig from explicit settings (a Backstage backend's `clusters` config: API URL, CA, service-account
 * token), for callers that must not import @kubernetes/client-node themselves.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { RestoreError } from './errors';

export interface ClusterConnection {
  /** Name of the cluster (used for the context, cluster and user entries). */
  name: string;
  /** `https://host:port` of the API server. */
  url: string;
  /** PEM CA bundle of the API server, as text or base64 of the text. */
  caData?: string;
  /** Bearer token, e.g. a ServiceAccount token. */
  token?: string;
  skipTLSVerify?: boolean;
  /** Default namespace of the context. */
  namespace?: string;
}

function base64Pem(caData: string): string {
  return caData.includes('-----BEGIN')
    ? Buffer.from(caData, 'utf8').toString('base64')
    : caData.trim();
}

export function kubeConfigFromCluster(cluster: ClusterConnection): KubeConfig {
  let url: URL;
  try {
    url = new URL(cluster.url);
  } catch {
    throw new RestoreError(
      'Invalid',
      `cluster ${cluster.name}: url "${cluster.url}" is not a URL`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new RestoreError(
      'Invalid',
      `cluster ${cluster.name}: url must be http:// or https://`,
    );
  }
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: cluster.name,
        server: cluster.url.replace(/\/+$/, ''),
        ...(cluster.caData ? { caData: base64Pem(cluster.caData) } : {}),
        skipTLSVerify: cluster.skipTLSVerify ?? false,
      },
    ],
    users: [
      {
        name: cluster.name,
        ...(cluster.token ? { token: cluster.token } : {}),
      },
    ],
    contexts: [
      {
        name: cluster.name,
        cluster: cluster.name,
        user: cluster.name,
        ...(cluster.namespace ? { namespace: cluster.namespace } : {}),
      },
    ],
    currentContext: cluster.name,
  });
  return kc;
}
