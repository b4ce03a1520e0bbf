/**
 * Static session credentials that expire before the restore can end. A session token in a Secret
 * (or handed over by kubectl `--credentials-from-env`) is not refreshed by anyone: once it expires,
 * every S3 call of the job fails with ExpiredToken. The plan says so beforehand when it knows the
 * expiry: from the key `AWS_CREDENTIAL_EXPIRATION` (as `aws configure export-credentials --format env`
 * writes it) or `Expiration` (a credential_process's JSON field) in the credentials Secret, or from
 * `$AWS_CREDENTIAL_EXPIRATION` beside the handed-over keys. Web identity, Pod Identity and the
 * node's role are refreshed by the SDK and never reported.
 */
import {
  GLACIER_RETRIEVAL_PRICES,
  type ArchiveClass,
  type RestoreRequest,
  type SourceSize,
} from '@kube-restore/common';
import { KubeClients } from './clients';
import type { S3Keys } from './inlineCredentials';

/** Secret keys that may hold the expiry, in order of preference. */
export const EXPIRATION_KEYS = [
  'AWS_CREDENTIAL_EXPIRATION',
  'Expiration',
  'expiration',
] as const;

/**
 * What one pod is assumed to sustain, for the estimate: a nearby region with the default
 * concurrency. Deliberately on the fast side, so that an expiry reported is one a restore is not
 * likely to beat.
 */
export const ASSUMED_THROUGHPUT = {
  bytesPerSecond: 200 * 1024 * 1024,
  objectsPerSecond: 1000,
  /** Scheduling, image start, listing's first page. */
  fixedSeconds: 30,
};

/** ISO 8601 with a time zone, as the AWS CLI and credential_process write it. */
const ISO_TIME =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

export class ExpirationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpirationError';
  }
}

/** An expiry as the AWS tools write it; throws ExpirationError naming `where`. */
export function parseExpiration(value: string, where: string): Date {
  const text = value.trim();
  const at = new Date(text);
  if (!ISO_TIME.test(text) || Number.isNaN(at.getTime()))
    throw new ExpirationError(
      `${where} is "${text.slice(0, 64)}": it must be an ISO 8601 time with a zone, such as 2026-12-06T14:00:00Z`,
    );
  return at;
}

/** Upper end of a typical thaw time ("3-5" -> 5 hours) for the request's tier and these classes. */
function thawSeconds(request: RestoreRequest, size: SourceSize): number {
  const tier = request.source.archive.tier;
  if (tier === 'fail' || size.archivedObjects === 0) return 0;
  let hours = 0;
  for (const cls of Object.keys(size.archived) as ArchiveClass[]) {
    const typical = GLACIER_RETRIEVAL_PRICES[cls]?.[tier]?.typicalHours;
    const most = Number(typical?.split('-').at(-1));
    if (Number.isFinite(most)) hours = Math.max(hours, most);
  }
  return hours * 3600;
}

/** Seconds a restore of `size` is expected to take at ASSUMED_THROUGHPUT, a thaw included. */
export function estimateRestoreSeconds(
  request: RestoreRequest,
  size: SourceSize,
): number {
  const pods = request.options.parallelism;
  const { bytesPerSecond, objectsPerSecond, fixedSeconds } = ASSUMED_THROUGHPUT;
  return Math.ceil(
    fixedSeconds +
      thawSeconds(request, size) +
      size.bytes / (bytesPerSecond * pods) +
      size.objects / (objectsPerSecond * pods),
  );
}

export interface CredentialExpiry {
  /** Where the expiry was read, e.g. `Secret s3-keys, key AWS_CREDENTIAL_EXPIRATION`. */
  from: string;
  expiresAt: string;
  /** Seconds the restore is estimated to take (when the source could be sized). */
  estimatedSeconds?: number;
  /** The session ends before the estimated end of the restore. */
  expiresBeforeEnd?: boolean;
}

/**
 * Where the request's static session credentials say they expire: undefined when they are not a
 * session token, say nothing, or the Secret cannot be read by this identity. A value that is there
 * but is not a time throws ExpirationError.
 */
export async function sessionExpiry(
  clients: KubeClients,
  request: RestoreRequest,
  keys?: S3Keys,
): Promise<{ from: string; expiresAt: Date } | undefined> {
  if (keys) {
    if (!keys.sessionToken || keys.expiresAt === undefined) return undefined;
    return {
      from: '$AWS_CREDENTIAL_EXPIRATION',
      expiresAt: parseExpiration(keys.expiresAt, '$AWS_CREDENTIAL_EXPIRATION'),
    };
  }
  const { credentials } = request;
  if (credentials.type !== 'secret' || !credentials.sessionTokenKey)
    return undefined;
  const secret = await clients.core
    .readNamespacedSecret({
      name: credentials.secretName,
      namespace: request.target.namespace,
    })
    .catch(() => undefined);
  const data = secret?.data ?? {};
  const key = EXPIRATION_KEYS.find(k => data[k] !== undefined);
  if (!key) return undefined;
  const from = `Secret ${credentials.secretName}, key ${key}`;
  const value = Buffer.from(data[key], 'base64').toString('utf8');
  return { from, expiresAt: parseExpiration(value, from) };
}

/** The plan's verdict on the session: its expiry, and a problem when it ends first. */
export function judgeExpiry(
  expiry: { from: string; expiresAt: Date },
  estimatedSeconds: number | undefined,
  now: Date,
): { expiry: CredentialExpiry; problem?: string } {
  const info: CredentialExpiry = {
    from: expiry.from,
    expiresAt: expiry.expiresAt.toISOString(),
  };
  const left = (expiry.expiresAt.getTime() - now.getTime()) / 1000;
  if (left <= 0)
    return {
      expiry: { ...info, expiresBeforeEnd: true },
      problem: `the session credentials expired at ${info.expiresAt} (${expiry.from}); get fresh ones`,
    };
  if (estimatedSeconds === undefined) return { expiry: info };
  const before = left < estimatedSeconds;
  return {
    expiry: { ...info, estimatedSeconds, expiresBeforeEnd: before },
    ...(before
      ? {
          problem:
            `the session credentials expire at ${info.expiresAt} (${expiry.from}), in ${minutes(left)}, ` +
            `before the restore's estimated end in ${minutes(estimatedSeconds)}: nothing refreshes them, and the job ` +
            'would fail with ExpiredToken; use longer-lived credentials or a ServiceAccount (web identity)',
        }
      : {}),
  };
}

function minutes(seconds: number): string {
  return seconds < 3600
    ? `${Math.max(1, Math.round(seconds / 60))} min`
    : `${(seconds / 3600).toFixed(1)} h`;
}
