/**
 * Flags -> RestoreRequest, shared by create, create-namespace and plan. Every check that can be made
 * without the cluster is made here, before anything is created, and names the flag and the value.
 */
import {
  RestoreRequest,
  RestoreRequestError,
  RestoreRequestInput,
  SourceUrlError,
  parseRestoreRequest,
  sourceFromUrl,
} from '@kube-restore/common';
import { parseExpiration, type S3Keys } from '@kube-restore/core';
import { CliError, EXIT, invalid } from './errors';
import { fieldFlags } from './flagTable';
import { REQUEST_FLAGS, RequestFlags, SourceFlags } from './flags';
import { parseDuration } from './session';

export type { RequestFlags, SourceFlags };

/** Request fields -> the flag that sets them, so schema errors name the flag. */
const FIELD_FLAGS: [string, string][] = [
  ['name', 'NAME'],
  ['target.namespace', '--namespace'],
  ...fieldFlags(REQUEST_FLAGS),
];

function flagOf(path: string): string | undefined {
  return FIELD_FLAGS.find(
    ([field]) => path === field || path.startsWith(`${field}.`),
  )?.[1];
}

/** A RestoreRequestError as one line naming flags: `invalid --size: invalid quantity "x": ...`. */
export function describeRequestError(error: RestoreRequestError): string {
  return error.problems
    .map(p => {
      const flag = flagOf(p.path);
      return flag
        ? `invalid ${flag}: ${p.message}`
        : `invalid ${p.path || 'request'}: ${p.message}`;
    })
    .join('; ');
}

export function intFlag(
  value: string | number | undefined,
  flag: string,
): number | undefined {
  if (value === undefined || value === '') return undefined;
  const text = String(value).trim();
  if (!/^-?\d+$/.test(text))
    throw invalid(`invalid ${flag} "${value}": expected a whole number`);
  return Number(text);
}

/** `pvc/NAME`, `persistentvolumeclaim/NAME` or `NAME`. */
export function pvcArg(value: string | undefined): string {
  if (!value)
    throw invalid('--to is required: the target PVC, e.g. --to pvc/data');
  const match = /^(?:(pvc|pvcs|persistentvolumeclaims?)\/)?([^/]+)$/.exec(
    value,
  );
  if (!match) throw invalid(`invalid --to "${value}": expected pvc/NAME`);
  return match[2];
}

function asOfFlag(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^\d{4}-\d{2}-\d{2}T/.test(value) && /(Z|[+-]\d{2}:\d{2})$/.test(value))
    return value;
  const t = Date.parse(value);
  if (Number.isNaN(t)) {
    throw invalid(
      `invalid --as-of "${value}": expected a time such as 2026-11-20T18:00:00Z or 2026-11-20`,
    );
  }
  return new Date(t).toISOString();
}

/** `--from` and the source flags -> request.source. */
export function sourceInput(flags: SourceFlags): RestoreRequestInput['source'] {
  if (!flags.from)
    throw invalid(
      '--from is required: s3://BUCKET/PREFIX/ or s3://BUCKET/KEY.tar.gz',
    );
  let fromUrl: ReturnType<typeof sourceFromUrl>;
  try {
    fromUrl = sourceFromUrl(flags.from);
  } catch (error) {
    if (error instanceof SourceUrlError)
      throw invalid(`invalid --from: ${error.message}`);
    throw error;
  }
  return {
    ...fromUrl,
    ...(flags.endpoint ? { endpoint: flags.endpoint } : {}),
    ...(flags.region ? { region: flags.region } : {}),
    ...(flags.pathStyle !== undefined ? { pathStyle: flags.pathStyle } : {}),
    ...(flags.format ? { format: flags.format as 'auto' } : {}),
    ...(flags.include?.length ? { include: flags.include.map(String) } : {}),
    ...(flags.exclude?.length ? { exclude: flags.exclude.map(String) } : {}),
    ...(flags.stripPrefix ? { stripPrefix: flags.stripPrefix } : {}),
    ...(flags.asOf ? { asOf: asOfFlag(flags.asOf) } : {}),
    ...(flags.archiveTier || flags.archivePoll !== undefined
      ? {
          archive: definedOnly({
            tier: flags.archiveTier as 'fail' | undefined,
            pollSeconds:
              flags.archivePoll !== undefined
                ? Math.round(parseDuration(flags.archivePoll, '--archive-poll'))
                : undefined,
          }),
        }
      : {}),
  };
}

/** `{ [key]: value }` when there is a value, else nothing (the request keeps its canonical form). */
function optional<K extends string, V>(
  key: K,
  value: V | undefined,
): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** The object without its undefined fields; undefined when none is left. */
function definedOnly<T extends Record<string, unknown>>(
  value: T,
): Partial<T> | undefined {
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  return entries.length
    ? (Object.fromEntries(entries) as Partial<T>)
    : undefined;
}

function credentialsInput(
  flags: RequestFlags,
): RestoreRequestInput['credentials'] {
  if (flags.secret) return { type: 'secret', secretName: flags.secret };
  if (flags.serviceAccount)
    return { type: 'serviceAccount', serviceAccountName: flags.serviceAccount };
  return { type: 'none' };
}

/** Flags -> request input for namespace `namespace`; throws CliError (exit 2) naming the bad flag. */
export function requestInput(
  flags: RequestFlags,
  namespace: string,
): RestoreRequestInput {
  const source = sourceInput(flags);
  const pvc = pvcArg(flags.to);
  const credentialKinds = [
    flags.secret && '--secret',
    flags.credentialsFromEnv && '--credentials-from-env',
    flags.serviceAccount && '--service-account',
  ].filter(Boolean);
  if (credentialKinds.length > 1)
    throw invalid(`give one of ${credentialKinds.join(', ')}, not several`);
  if (flags.existingPvc && flags.size !== undefined && flags.size !== 'auto') {
    throw invalid(
      `--size "${flags.size}" with --existing-pvc: an existing PVC is never resized`,
    );
  }
  if (flags.existingPvc && flags.storageClass)
    throw invalid(
      '--storage-class with --existing-pvc: only a new PVC takes a storage class',
    );
  if (!flags.existingPvc && flags.conflict && flags.conflict !== 'fail') {
    throw invalid(
      `--conflict "${flags.conflict}" needs --existing-pvc: a new PVC is empty`,
    );
  }
  const owner = {
    uid: intFlag(flags.uid, '--uid'),
    gid: intFlag(flags.gid, '--gid'),
    fsGroup: intFlag(flags.fsGroup, '--fs-group'),
    fileMode: flags.fileMode,
    dirMode: flags.dirMode,
  };
  const options = {
    owner: Object.fromEntries(
      Object.entries(owner).filter(([, v]) => v !== undefined),
    ),
    ...(flags.ttl !== undefined
      ? {
          ttlSecondsAfterFinished: Math.round(
            parseDuration(flags.ttl, '--ttl'),
          ),
        }
      : {}),
    ...(flags.deadline !== undefined
      ? {
          activeDeadlineSeconds: Math.round(
            parseDuration(flags.deadline, '--deadline'),
          ),
        }
      : {}),
    ...(flags.bandwidth !== undefined
      ? { bandwidth: String(flags.bandwidth) }
      : {}),
    ...(flags.parallelism !== undefined
      ? { parallelism: intFlag(flags.parallelism, '--parallelism') }
      : {}),
    ...(flags.concurrency !== undefined
      ? { concurrency: intFlag(flags.concurrency, '--concurrency') }
      : {}),
    ...(flags.backoffLimit !== undefined
      ? { backoffLimit: intFlag(flags.backoffLimit, '--backoff-limit') }
      : {}),
    ...optional(
      'parts',
      definedOnly({
        size: flags.partSize !== undefined ? String(flags.partSize) : undefined,
        concurrency: intFlag(flags.partConcurrency, '--part-concurrency'),
        minObjectSize:
          flags.rangedMinSize !== undefined
            ? String(flags.rangedMinSize)
            : undefined,
      }),
    ),
    ...optional(
      'retry',
      definedOnly({
        attempts: intFlag(flags.retryAttempts, '--retry-attempts'),
        throttleBudgetSeconds:
          flags.throttleBudget !== undefined
            ? Math.round(
                parseDuration(flags.throttleBudget, '--throttle-budget'),
              )
            : undefined,
      }),
    ),
    ...(flags.verify !== undefined ? { verify: flags.verify } : {}),
    ...(flags.allowEmpty !== undefined ? { allowEmpty: flags.allowEmpty } : {}),
  };
  return {
    ...(flags.name ? { name: flags.name } : {}),
    source,
    target: {
      namespace,
      pvc,
      mode: flags.existingPvc ? 'existing' : 'new',
      ...(flags.size !== undefined && !flags.existingPvc
        ? { size: String(flags.size) }
        : {}),
      ...(flags.storageClass ? { storageClassName: flags.storageClass } : {}),
      ...(flags.accessMode?.length
        ? { accessModes: flags.accessMode.map(String) as ['ReadWriteOnce'] }
        : {}),
      ...(flags.conflict ? { conflict: flags.conflict as 'fail' } : {}),
    },
    credentials: credentialsInput(flags),
    options,
  };
}

/** Validates with the shared schema; errors name the flags. */
export function parseRequestFlags(
  flags: RequestFlags,
  namespace: string,
): RestoreRequest {
  const input = requestInput(flags, namespace);
  try {
    return parseRestoreRequest(input);
  } catch (error) {
    if (error instanceof RestoreRequestError)
      throw new CliError(describeRequestError(error), EXIT.INVALID, {
        cause: error,
      });
    throw error;
  }
}

/**
 * `--credentials-from-env`: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, and optionally AWS_SESSION_TOKEN
 * with AWS_CREDENTIAL_EXPIRATION (as `aws configure export-credentials --format env` prints them).
 */
export function credentialsFromEnv(
  env: Record<string, string | undefined>,
): S3Keys {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  const missing = [
    !accessKeyId && 'AWS_ACCESS_KEY_ID',
    !secretAccessKey && 'AWS_SECRET_ACCESS_KEY',
  ].filter(Boolean);
  if (missing.length)
    throw invalid(
      `--credentials-from-env: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set`,
    );
  return {
    accessKeyId: accessKeyId!,
    secretAccessKey: secretAccessKey!,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    ...(env.AWS_SESSION_TOKEN && env.AWS_CREDENTIAL_EXPIRATION
      ? { expiresAt: expirationFromEnv(env.AWS_CREDENTIAL_EXPIRATION) }
      : {}),
  };
}

/** $AWS_CREDENTIAL_EXPIRATION, checked before it is stored beside the keys. */
function expirationFromEnv(value: string): string {
  try {
    return parseExpiration(value, '$AWS_CREDENTIAL_EXPIRATION').toISOString();
  } catch (error) {
    throw invalid(`--credentials-from-env: ${(error as Error).message}`);
  }
}
