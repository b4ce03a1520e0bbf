/**
 * Request -> what a declarative restore is made of, pure: the RestoreSource (kube-restore.io/v1alpha1),
 * the PVC that names it in spec.dataSourceRef, and a credentials Secret when the caller hands over keys.
 * Applied with `kubectl apply -f`, the populator (@kube-restore/populator) fills the PVC.
 */
import type {
  V1PersistentVolumeClaim,
  V1Secret,
} from '@kubernetes/client-node';
import {
  LABEL_MANAGED_BY,
  LABEL_NAME,
  MANAGED_BY_VALUE,
  RESTORE_SOURCE_API_VERSION,
  RESTORE_SOURCE_GROUP,
  RESTORE_SOURCE_KIND,
  RestoreRequest,
  RestoreSourceSpecInput,
  parseQuantity,
  restoreNameOf,
  restoreSourceSpecSchema,
} from '@kube-restore/common';
import { S3Keys, inlineCredentials } from './inlineCredentials';
import { ManifestError } from './manifestError';

export interface RestoreSourceManifest {
  apiVersion: typeof RESTORE_SOURCE_API_VERSION;
  kind: typeof RESTORE_SOURCE_KIND;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
  };
  spec: RestoreSourceSpecInput;
}

export interface DeclarativeRestore {
  /** The RestoreSource's name (the request's name, or the name derived from it). */
  name: string;
  namespace: string;
  restoreSource: RestoreSourceManifest;
  /** The user's PVC: the request's target, with dataSourceRef naming the RestoreSource. */
  pvc: V1PersistentVolumeClaim;
  /** Only when keys are handed over: the RestoreSource then names it. */
  secret?: V1Secret;
}

export interface DeclarativeOptions {
  /** Size of the PVC when the request says `auto` (from sizeSource). Required then. */
  resolvedSize?: string;
  /** Keys to store in a Secret the RestoreSource names; the request must not name credentials itself. */
  credentials?: S3Keys;
}

const LABELS = {
  [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
  [LABEL_NAME]: 'kube-restore',
};

/**
 * The manifests of a declarative restore of `request` (target mode `new`: a populator fills only a
 * PVC that it creates). The RestoreSource's spec leaves out what equals the schema's default, so the
 * printed YAML holds what was asked for; it parses back to the same request source, credentials
 * and options.
 */
export function buildDeclarativeRestore(
  request: RestoreRequest,
  options: DeclarativeOptions = {},
): DeclarativeRestore {
  const name = restoreNameOf(request);
  const { namespace, pvc: pvcName } = request.target;
  if (request.target.mode !== 'new')
    throw new ManifestError(
      'target.mode: a populator fills only a new PVC (dataSourceRef is read when the PVC is created)',
    );
  const size =
    request.target.size === 'auto' ? options.resolvedSize : request.target.size;
  if (!size)
    throw new ManifestError(
      'target.size is "auto": size the source first (sizeSource) or give a size such as 10Gi',
    );
  parseQuantity(size);

  let credentials: RestoreRequest['credentials'] = request.credentials;
  let secret: V1Secret | undefined;
  if (options.credentials)
    ({ credentials, secret } = inlineCredentials(
      request.credentials,
      options.credentials,
      { name, namespace, labels: LABELS },
    ));

  const restoreSource: RestoreSourceManifest = {
    apiVersion: RESTORE_SOURCE_API_VERSION,
    kind: RESTORE_SOURCE_KIND,
    metadata: { name, namespace, labels: LABELS },
    spec: restoreSourceSpec({
      source: request.source,
      credentials,
      options: request.options,
    }),
  };
  const pvc: V1PersistentVolumeClaim = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: pvcName, namespace },
    spec: {
      accessModes: [...request.target.accessModes],
      resources: { requests: { storage: size } },
      ...(request.target.storageClassName
        ? { storageClassName: request.target.storageClassName }
        : {}),
      dataSourceRef: {
        apiGroup: RESTORE_SOURCE_GROUP,
        kind: RESTORE_SOURCE_KIND,
        name,
      },
    },
  };
  return { name, namespace, restoreSource, pvc, secret };
}

/**
 * A RestoreSource spec without the values its schema would default to (compared with the defaults of
 * a spec naming the same source object), checked to parse back to the same spec; else the full spec.
 */
function restoreSourceSpec(full: {
  source: RestoreRequest['source'];
  credentials: RestoreRequest['credentials'];
  options: RestoreRequest['options'];
}): RestoreSourceSpecInput {
  const { bucket, prefix, key, endpoint } = full.source;
  const c = full.credentials;
  // what names the source and the credentials: always written out
  const source = {
    bucket,
    ...(key !== undefined ? { key } : { prefix }),
    ...(endpoint ? { endpoint } : {}),
  };
  const credentials =
    c.type === 'secret' ? { type: c.type, secretName: c.secretName } : c;
  const defaults = restoreSourceSpecSchema.parse({ source, credentials });
  const pruned = (withoutDefaults(full, defaults) ?? {}) as Record<
    string,
    Record<string, unknown> | undefined
  >;
  const spec = {
    source: { ...source, ...pruned.source },
    ...(c.type === 'none'
      ? {}
      : { credentials: { ...credentials, ...pruned.credentials } }),
    ...(pruned.options ? { options: pruned.options } : {}),
  } as RestoreSourceSpecInput;
  const same =
    JSON.stringify(restoreSourceSpecSchema.parse(spec)) ===
    JSON.stringify(restoreSourceSpecSchema.parse(full));
  return same ? spec : (full as RestoreSourceSpecInput);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function withoutDefaults(value: unknown, defaults: unknown): unknown {
  if (value === undefined) return undefined;
  if (isObject(value) && isObject(defaults)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const kept = withoutDefaults(v, defaults[k]);
      if (kept !== undefined) out[k] = kept;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return JSON.stringify(value) === JSON.stringify(defaults) ? undefined : value;
}
