/** pvc-plumber's question for a new PVC (`GET /exists/:namespace/:pvc`): restore, fresh, or unknown. */
import { BackupDecision, backupExists } from '@kube-restore/core';
import { RestoreConfig } from '../config';
import { ClusterRegistry } from './clusters';

export async function existsDecision(
  config: RestoreConfig,
  clusters: ClusterRegistry,
  namespace: string,
  pvc: string,
): Promise<BackupDecision> {
  const layout = config.exists;
  if (!layout)
    return {
      decision: 'unknown',
      reason: 'kubeRestore.exists is not configured',
    };
  const source = clusters.source(layout.source);
  return backupExists(
    namespace,
    pvc,
    {
      source: {
        endpoint: source.endpoint,
        region: source.region,
        pathStyle: source.pathStyle ?? !!source.endpoint,
        bucket: source.bucket,
      },
      template: layout.template,
    },
    { credentials: clusters.keysOf(source) },
  );
}
