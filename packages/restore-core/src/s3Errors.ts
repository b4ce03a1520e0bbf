/**
 * S3 errors as RestoreErrors whose messages say which bucket or key, and never the credentials.
 */
import type { S3ServiceException } from '@aws-sdk/client-s3';
import type { RestoreSource } from '@kube-restore/common';
import { DeadlineExceeded, formatSeconds } from './deadline';
import { RestoreError } from './errors';

/**
 * Maps an S3 error to a RestoreError whose message names the bucket or key. Never includes
 * credentials. `signal`: the one the calls were made with, to tell a deadline (deadline.ts) from
 * the caller giving up.
 */
export function translateS3Error(
  error: unknown,
  source: Pick<RestoreSource, 'bucket'>,
  key?: string,
  signal?: AbortSignal,
): RestoreError {
  const name = (error as S3ServiceException)?.name ?? '';
  const status = (error as S3ServiceException)?.$metadata?.httpStatusCode;
  const where = key
    ? `s3://${source.bucket}/${key}`
    : `bucket "${source.bucket}"`;
  const timedOut = timeoutOf(error, signal);
  if (timedOut !== undefined)
    return new RestoreError(
      'Unavailable',
      `timed out${timedOut ? ` after ${timedOut}` : ''} reading ${where}: the S3 server did not answer`,
      { cause: error },
    );
  if (name === 'AbortError')
    return new RestoreError('Failed', `reading ${where} was cancelled`, {
      cause: error,
    });
  if (name === 'NoSuchBucket')
    return new RestoreError(
      'NotFound',
      `bucket "${source.bucket}" does not exist`,
      { cause: error },
    );
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404)
    return new RestoreError('NotFound', `${where} does not exist`, {
      cause: error,
    });
  // S3 answers these with 403 too: they are about the keys, not about what the keys may read.
  if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
    return new RestoreError(
      'Unauthorized',
      `the S3 server rejected the credentials (${name})`,
      { cause: error },
    );
  }
  if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
    return new RestoreError(
      'Forbidden',
      `the credentials may not read ${where} (AccessDenied)`,
      { cause: error },
    );
  }
  const code = (error as { code?: string })?.code;
  if (code && /^E[A-Z]+$/.test(code)) {
    return new RestoreError(
      'Unavailable',
      `cannot reach the S3 server for ${where} (${code})`,
      { cause: error },
    );
  }
  return new RestoreError(
    'Failed',
    `reading ${where} failed: ${name || (error as Error)?.message || String(error)}`,
    {
      cause: error,
    },
  );
}

/**
 * How long was waited when `error` is a timeout ('' when unknown): the caller's deadline
 * (deadline.ts) or the HTTP handler's own connection or request timeout ("... N ms ...").
 * Undefined for any other error.
 */
function timeoutOf(error: unknown, signal?: AbortSignal): string | undefined {
  const e = error as { name?: string; message?: string; cause?: unknown };
  if (e?.name === 'AbortError') {
    // The SDK's AbortError carries the signal's reason as its cause.
    const reason = e.cause ?? (signal?.aborted ? signal.reason : undefined);
    if (reason instanceof DeadlineExceeded) return formatSeconds(reason.ms);
    return (reason as Error | undefined)?.name === 'TimeoutError'
      ? ''
      : undefined;
  }
  if (e?.name !== 'TimeoutError') return undefined;
  const ms = /(\d+) ms/.exec(e.message ?? '')?.[1];
  return ms ? formatSeconds(Number(ms)) : '';
}
