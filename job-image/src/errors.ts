/**
 * Errors of the job program: one class that carries a common ERROR_CODE, and one function that
 * classifies whatever was thrown (S3 SDK errors, our lean GET's errors, Node fs and socket errors).
 */
import { ERROR_CODES, ErrorCode } from '@kube-restore/common';

export class RestoreError extends Error {
  readonly code: ErrorCode;
  /** The key or archive entry the error is about. */
  readonly entry?: string;
  constructor(
    code: ErrorCode,
    message: string,
    options: { entry?: string; cause?: unknown } = {},
  ) {
    super(
      message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'RestoreError';
    this.code = code;
    this.entry = options.entry;
  }
}

/** Codes worth another attempt inside this process (with backoff). */
const RETRYABLE_IN_PROCESS: ReadonlySet<ErrorCode> = new Set([
  'THROTTLED',
  'NETWORK',
  'SERVER_ERROR',
]);

export function isRetryableInProcess(code: ErrorCode): boolean {
  return RETRYABLE_IN_PROCESS.has(code);
}

/** S3 error codes (the `<Code>` of an error body, or the SDK's error name) to ours. */
const S3_CODES: Record<string, ErrorCode> = {
  AccessDenied: 'ACCESS_DENIED',
  AllAccessDisabled: 'ACCESS_DENIED',
  AccountProblem: 'ACCESS_DENIED',
  InvalidAccessKeyId: 'INVALID_CREDENTIALS',
  SignatureDoesNotMatch: 'INVALID_CREDENTIALS',
  ExpiredToken: 'INVALID_CREDENTIALS',
  InvalidToken: 'INVALID_CREDENTIALS',
  TokenRefreshRequired: 'INVALID_CREDENTIALS',
  CredentialsProviderError: 'INVALID_CREDENTIALS',
  NoSuchBucket: 'NO_SUCH_BUCKET',
  NoSuchKey: 'NO_SUCH_KEY',
  NoSuchVersion: 'NO_SUCH_KEY',
  InvalidObjectState: 'ARCHIVED_OBJECT',
  SlowDown: 'THROTTLED',
  Throttling: 'THROTTLED',
  ThrottlingException: 'THROTTLED',
  RequestLimitExceeded: 'THROTTLED',
  TooManyRequests: 'THROTTLED',
  ServiceUnavailable: 'SERVER_ERROR',
  InternalError: 'SERVER_ERROR',
  RequestTimeout: 'NETWORK',
  RequestTimeTooSkewed: 'INVALID_CREDENTIALS',
  // Signed for, or sent to, another region than the bucket's: source.region or source.endpoint.
  AuthorizationHeaderMalformed: 'INVALID_REQUEST',
  PermanentRedirect: 'INVALID_REQUEST',
  XMinioServerNotInitialized: 'SERVER_ERROR',
};

const NETWORK_ERRNOS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'ECONNREFUSED',
]);

/** Node's codes for a server certificate that does not verify (openssl's, plus Node's own). */
const TLS_TRUST_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** A certificate problem is not worth a retry: say what to configure instead. */
function untrustedCertificate(
  code: string,
  message: string,
  env: NodeJS.ProcessEnv,
): string {
  const bundle = env.AWS_CA_BUNDLE;
  const hint = bundle
    ? `the CA bundle in AWS_CA_BUNDLE (${bundle}) does not vouch for it; give the CA that issued the endpoint's certificate in source.caBundle`
    : "if the endpoint uses a private CA, give that CA's PEM bundle in source.caBundle (a ConfigMap; the job reads it from AWS_CA_BUNDLE)";
  return `the S3 endpoint's TLS certificate is not trusted (${code}: ${message}); ${hint}`;
}

interface ErrorLike {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  statusCode?: number;
  cause?: unknown;
}

/** Classifies anything thrown into a RestoreError (the same one if it already is). */
export function classifyError(error: unknown, entry?: string): RestoreError {
  if (error instanceof RestoreError) return error;
  const e = (error ?? {}) as ErrorLike;
  const message = typeof e.message === 'string' ? e.message : String(error);
  const status = e.$metadata?.httpStatusCode ?? e.statusCode;
  const s3Code = e.Code ?? e.name;
  const make = (code: ErrorCode, why = message) =>
    new RestoreError(code, why, { entry, cause: error });

  const tlsCode = [e.code, (e.cause as ErrorLike | undefined)?.code].find(
    c => c !== undefined && TLS_TRUST_CODES.has(c),
  );
  if (tlsCode) {
    const tlsMessage =
      tlsCode === e.code
        ? message
        : String((e.cause as ErrorLike).message ?? message);
    return make(
      'UNTRUSTED_CERTIFICATE',
      untrustedCertificate(tlsCode, tlsMessage, process.env),
    );
  }
  // HTTP(S)_PROXY: ours (s3/proxy.ts) and Node's (the SDK's calls)
  if (
    e.code === 'ERR_PROXY_AUTH' ||
    (e.code === 'ERR_PROXY_TUNNEL' && e.statusCode === 407)
  )
    return make(
      'INVALID_CREDENTIALS',
      `the HTTP proxy asks for credentials (407): give them in the proxy URL, http://user:password@host:port (${message})`,
    );
  if (e.code === 'ERR_PROXY_TUNNEL')
    return make('NETWORK', `the HTTP proxy refused a tunnel: ${message}`);
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT')
    return make('NO_SPACE', `the volume is full (${e.code})`);
  // A path the file system cannot hold: no retry can write it.
  if (e.code === 'ENAMETOOLONG')
    return make(
      'UNSAFE_PATH',
      `refused${entry ? ` "${entry}"` : ''}: its path is longer than the file system allows (ENAMETOOLONG)`,
    );
  // Opened with O_NOFOLLOW and found a link: something swapped a link in where none may be.
  if (e.code === 'ELOOP')
    return make(
      'UNSAFE_PATH',
      `refused to follow a link where kube-restore never follows links (ELOOP): ${message}`,
    );
  if (s3Code && S3_CODES[s3Code])
    return make(S3_CODES[s3Code], `${s3Code}: ${message}`);
  if (e.code && NETWORK_ERRNOS.has(e.code))
    return make('NETWORK', `${e.code}: ${message}`);
  if (
    /socket hang up|aborted|premature close|ECONNRESET/i.test(message) &&
    !e.code?.startsWith('E')
  )
    return make('NETWORK', message);
  if (e.name === 'TimeoutError' || e.name === 'RequestTimeout')
    return make('NETWORK', message);
  if (status === 403) return make('ACCESS_DENIED', `HTTP 403: ${message}`);
  if (status === 404)
    return make(
      entry ? 'NO_SUCH_KEY' : 'NO_SUCH_BUCKET',
      `HTTP 404: ${message}`,
    );
  if (status === 429 || status === 503)
    return make('THROTTLED', `HTTP ${status}: ${message}`);
  if (status !== undefined && status >= 500)
    return make('SERVER_ERROR', `HTTP ${status}: ${message}`);
  if (e.code === 'EROFS' || e.code === 'EACCES' || e.code === 'EPERM') {
    return make(
      'INTERNAL',
      `cannot write to the volume (${e.code}): ${message}`,
    );
  }
  return make('INTERNAL', message);
}

/** S3 and STS codes of credentials that expired (new ones from a refreshable source may work). */
const EXPIRED_CREDENTIALS = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'TokenRefreshRequired',
]);

export function isExpiredCredentials(error: unknown): boolean {
  const e = (error ?? {}) as ErrorLike;
  return EXPIRED_CREDENTIALS.has(String(e.Code ?? e.name));
}

export function isFatal(code: ErrorCode): boolean {
  return ERROR_CODES[code].fatal;
}

/**
 * Removes secrets from text that leaves the process: the values of the AWS credential env vars, and
 * anything shaped like a SigV4 Authorization header or a presigned query's signature.
 */
export function redact(
  text: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  let out = text;
  for (const name of [
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_ACCESS_KEY_ID',
  ]) {
    const value = env[name];
    if (value && value.length >= 4) out = out.split(value).join('[redacted]');
  }
  out = out.replace(/(Credential=)[^,\s"]+/g, '$1[redacted]');
  out = out.replace(/(Signature=)[0-9a-f]+/gi, '$1[redacted]');
  out = out.replace(/(X-Amz-Security-Token=)[^&\s"]+/gi, '$1[redacted]');
  return out;
}
