/**
 * S3's error responses on the lean path (access.ts), as errors shaped like the SDK's, which
 * errors.ts classifies: the code and message of an error body, or for a bodiless one (a HEAD's)
 * the status's usual code.
 */
import type { HttpResponse } from './keepAliveHttp';

/** An S3 error from the lean path, shaped like the SDK's (name = S3 error code). */
export class S3HttpError extends Error {
  readonly $metadata: { httpStatusCode: number };
  /** Retry-After, as sent. */
  retryAfter?: string;
  constructor(
    readonly Code: string,
    status: number,
    message: string,
  ) {
    super(message);
    this.name = Code;
    this.$metadata = { httpStatusCode: status };
  }
}

/** The first 64 KiB of an error's body (the rest is read and dropped). */
export async function readErrorBody(res: HttpResponse): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    if (size < 64 * 1024) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks)
    .toString('utf8')
    .slice(0, 64 * 1024);
}

export function s3ErrorFrom(
  status: number,
  body: string,
  headers: Record<string, string | undefined>,
): S3HttpError {
  const code =
    /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? defaultCodeFor(status);
  const message =
    /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? `HTTP ${status}`;
  const error = new S3HttpError(code, status, message);
  const retryAfter = headers['retry-after'];
  if (retryAfter) error.retryAfter = String(retryAfter);
  return error;
}

/** A HEAD's 404 or 403 (no body, so no S3 message) with one that names the object. */
export function headError(
  error: unknown,
  req: { key: string; versionId?: string },
  bucket: string,
): unknown {
  if (!(error instanceof S3HttpError)) return error;
  const status = error.$metadata.httpStatusCode;
  // Names as JSON strings: a key may hold quotes or control characters.
  const version = req.versionId
    ? ` (version ${JSON.stringify(req.versionId.slice(0, 128))})`
    : '';
  const object = `${JSON.stringify(req.key)}${version} in bucket ${JSON.stringify(bucket)}`;
  let message: string;
  // A HEAD's error has no body to tell a missing key from a missing bucket, or a refusal from
  // a missing key that the credentials may not list.
  if (status === 404)
    message = `no object ${object}, or no such bucket (HEAD: HTTP 404)`;
  else if (status === 403)
    message = `HEAD of ${object} refused (HTTP 403): the credentials may not read it, or it does not exist and they may not list the bucket`;
  else return error;
  const named = new S3HttpError(error.Code, status, message);
  named.retryAfter = error.retryAfter;
  return named;
}

/**
 * A HEAD's error status whose reason only an error body would tell (S3 sends none to a HEAD): a
 * 400 may be ExpiredToken, a request signed for another region or a malformed one; a 301 or 307
 * another region's endpoint.
 */
export function headStatusNeedsBody(status: number): boolean {
  return status === 400 || status === 301 || status === 307;
}

/** The code of an error without a body (a HEAD's): S3's usual one for its status. */
function defaultCodeFor(status: number): string {
  switch (status) {
    case 403:
      return 'AccessDenied';
    case 404:
      return 'NoSuchKey';
    case 412:
      return 'PreconditionFailed';
    case 429:
      return 'SlowDown';
    // S3's 503 is its SlowDown, a HEAD's without the body that would say so
    case 503:
      return 'SlowDown';
    default:
      return status >= 500 ? 'InternalError' : `HTTP${status}`;
  }
}
