/**
 * The registry of what config names: cluster clients (made once per cluster, as the operator identity) and
 * S3 sources with their keys. Nothing here decides anything.
 */
import { InputError } from '@backstage/errors';
import {
  KubeClients,
  S3Keys,
  createKubeClients,
  kubeConfigFromCluster,
  loadKubeConfig,
} from '@kube-restore/core';
import { RestoreConfig, SourceConfig } from '../config';

export class ClusterRegistry {
  private readonly clients = new Map<string, KubeClients>();
  private readonly sources: Map<string, SourceConfig>;

  constructor(private readonly config: RestoreConfig) {
    this.sources = new Map(config.sources.map(s => [s.name, s]));
  }

  clientsFor(cluster: string): KubeClients {
    let clients = this.clients.get(cluster);
    if (!clients) {
      const c = this.config.clusters.find(x => x.name === cluster);
      if (!c) throw new InputError(`cluster "${cluster}" is not configured`);
      const kc = c.inCluster
        ? loadKubeConfig({ inCluster: true })
        : kubeConfigFromCluster({
            name: c.name,
            url: c.url!,
            caData: c.caData,
            token: c.serviceAccountToken,
            skipTLSVerify: c.skipTLSVerify,
          });
      clients = createKubeClients(kc);
      this.clients.set(cluster, clients);
    }
    return clients;
  }

  source(name: string): SourceConfig {
    const source = this.sources.get(name);
    if (!source)
      throw new InputError(
        `source.name: "${name}" is not a configured source (${[...this.sources.keys()].join(', ')})`,
      );
    return source;
  }

  /** Keys kept in config for a source (handed to core separately, never put in a request). */
  keysOf(source: SourceConfig): S3Keys | undefined {
    const c = source.credentials;
    return c?.accessKeyId && c.secretAccessKey
      ? {
          accessKeyId: c.accessKeyId,
          secretAccessKey: c.secretAccessKey,
          ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
        }
      : undefined;
  }

  /**
   * Sources users may pick (no credentials, no secret names). Where a source is (endpoint, bucket)
   * only for callers whose ownership refs include one of its `visibleTo`; for others it is left out
   * and `locationHidden` is set.
   */
  listSources(ownershipRefs: readonly string[]) {
    const mine = new Set(ownershipRefs.map(r => r.toLocaleLowerCase('en-US')));
    return this.config.sources.map(s => {
      const visible = s.visibleTo.some(ref => mine.has(ref));
      return {
        name: s.name,
        title: s.title ?? s.name,
        ...(visible
          ? { endpoint: s.endpoint, bucket: s.bucket }
          : { locationHidden: true }),
        region: s.region,
        prefix: s.prefix,
        archiveTiers: s.archiveTiers,
      };
    });
  }
}
