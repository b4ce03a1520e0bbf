/**
 * The builder of requests: an HTTP body and the entity's target, with config's source and defaults, make a
 * RestoreRequest checked by common's schema. Users pick a path below the source's prefix and options;
 * namespace, bucket and credentials come from config and the entity only.
 */
import { InputError } from '@backstage/errors';
import {
  ArchiveTier,
  RestoreRequest,
  RestoreRequestInput,
  safeParseRestoreRequest,
} from '@kube-restore/common';
import { S3Keys } from '@kube-restore/core';
import { RestoreConfig, SourceConfig, fillTemplate } from '../config';
import { ClusterRegistry } from './clusters';
import { EntityTarget } from './entities';
import { RestoreBody } from './schemas';

/** Body + entity -> a validated RestoreRequest; credentials only as a reference, keys handed over separately. */
export function buildRequest(
  config: RestoreConfig,
  clusters: ClusterRegistry,
  body: RestoreBody,
  target: EntityTarget,
): { request: RestoreRequest; source: SourceConfig; keys?: S3Keys } {
  const source = clusters.source(body.source.name);
  checkOwnership(config.ownership, body.options);
  const { defaults } = config;
  const path = body.source.path ?? '';
  if (
    path.startsWith('/') ||
    path.split('/').some(part => part === '..' || part === '.')
  ) {
    throw new InputError(
      'source.path: must be relative to the source prefix, without "." or ".." segments',
    );
  }
  const tier = body.source.archiveTier ?? 'fail';
  if (tier !== 'fail' && !source.archiveTiers.includes(tier as ArchiveTier)) {
    const allowed = source.archiveTiers.length
      ? `allowed: ${source.archiveTiers.join(', ')}`
      : 'archived objects cannot be thawed from it';
    throw new InputError(
      `source.archiveTier: "${tier}" is not allowed for source ${source.name} (${allowed})`,
    );
  }
  let prefix: string;
  try {
    prefix = fillTemplate(source.prefix, {
      namespace: target.namespace,
      entity: target.entity.metadata.name,
      kind: target.entity.kind.toLocaleLowerCase('en-US'),
      entityNamespace: target.entity.metadata.namespace ?? 'default',
      cluster: target.cluster,
    });
  } catch (error) {
    throw new InputError(`source ${source.name}: ${(error as Error).message}`);
  }
  const location = prefix + path;
  const keys = clusters.keysOf(source);
  const input: RestoreRequestInput = {
    ...(body.name !== undefined ? { name: body.name } : {}),
    source: {
      ...(source.endpoint ? { endpoint: source.endpoint } : {}),
      region: source.region,
      bucket: source.bucket,
      ...(source.pathStyle !== undefined
        ? { pathStyle: source.pathStyle }
        : {}),
      ...(location === '' || location.endsWith('/')
        ? { prefix: location }
        : { key: location }),
      ...(body.source.format ? { format: body.source.format } : {}),
      ...(body.source.include ? { include: body.source.include } : {}),
      ...(body.source.exclude ? { exclude: body.source.exclude } : {}),
      ...(body.source.stripPrefix !== undefined
        ? { stripPrefix: body.source.stripPrefix }
        : {}),
      ...(body.source.asOf !== undefined ? { asOf: body.source.asOf } : {}),
      archive: { tier },
    },
    target: {
      ...(body.target as Record<string, unknown>),
      namespace: target.namespace,
      ...((body.target.mode ?? 'new') === 'new' &&
      !body.target.storageClassName &&
      defaults.storageClassName
        ? { storageClassName: defaults.storageClassName }
        : {}),
    } as RestoreRequestInput['target'],
    credentials: source.credentials?.secretName
      ? { type: 'secret', secretName: source.credentials.secretName }
      : { type: 'none' },
    options: {
      ...(defaults.ttlSecondsAfterFinished !== undefined
        ? { ttlSecondsAfterFinished: defaults.ttlSecondsAfterFinished }
        : {}),
      ...(defaults.activeDeadlineSeconds !== undefined
        ? { activeDeadlineSeconds: defaults.activeDeadlineSeconds }
        : {}),
      ...(body.options ?? {}),
    } as RestoreRequestInput['options'],
  };
  const parsed = safeParseRestoreRequest(input);
  if (!parsed.ok) {
    throw new InputError(
      `invalid restore request: ${parsed.problems.map(p => `${p.path || '(request)'}: ${p.message}`).join('; ')}`,
    );
  }
  return { request: parsed.request, source, keys };
}

const ID_FIELDS = ['uid', 'gid', 'fsGroup'] as const;

/**
 * Who owns the restored files is the deployment's call: a body sets options.owner only within
 * kubeRestore.ownership (otherwise one team could write files as another's uid into a shared volume).
 * Types and other fields are left to common's schema.
 */
export function checkOwnership(
  ownership: RestoreConfig['ownership'],
  options: Record<string, unknown> | undefined,
): void {
  const owner = options?.owner;
  if (!owner || typeof owner !== 'object') return;
  for (const [field, value] of Object.entries(owner)) {
    if (field === 'fileMode' || field === 'dirMode') {
      if (!ownership.modes)
        throw new InputError(
          `options.owner.${field}: not allowed by this deployment (kubeRestore.ownership.modes is not true)`,
        );
    } else if ((ID_FIELDS as readonly string[]).includes(field)) {
      const range = ownership[field as (typeof ID_FIELDS)[number]];
      if (!range)
        throw new InputError(
          `options.owner.${field}: not allowed by this deployment (kubeRestore.ownership.${field} is not set)`,
        );
      if (typeof value === 'number' && (value < range.min || value > range.max))
        throw new InputError(
          `options.owner.${field}: ${value} is outside ${range.min}-${range.max} (kubeRestore.ownership.${field})`,
        );
    }
  }
}
