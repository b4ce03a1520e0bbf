/**
 * One place that turns Kubernetes API errors into domain errors whose message says what to do.
 * Edges map these to their own conventions: the kubectl plugin to exit codes, the Backstage
 * backend to @backstage/errors.
 */

export type RestoreErrorKind =
  | 'Invalid' // bad input; nothing was created
  | 'Unauthorized' // the cluster does not know who we are
  | 'Forbidden' // RBAC said no
  | 'NotFound'
  | 'Conflict' // exists already, or was not created by kube-restore
  | 'Rejected' // admission (Pod Security, quota, webhook) refused an object
  | 'Unavailable' // the API server could not be reached or timed out
  | 'Failed'; // anything else from the API server

export class RestoreError extends Error {
  readonly kind: RestoreErrorKind;
  readonly statusCode?: number;
  constructor(
    kind: RestoreErrorKind,
    message: string,
    options: { statusCode?: number; cause?: unknown } = {},
  ) {
    super(
      message,
      options.cause !== undefined ? { cause: options.cause } : undefined,
    );
    this.name = 'RestoreError';
    this.kind = kind;
    this.statusCode = options.statusCode;
  }
}

export interface ApiCallContext {
  /** Kubernetes verb: get, list, watch, create, patch, delete. */
  verb: string;
  /** Resource with group, e.g. `jobs.batch`, `persistentvolumeclaims`, `pods/log`. */
  resource: string;
  namespace?: string;
  /** Object name, when the call names one. */
  name?: string;
}

/** Where the permissions for each resource come from, for the 403 message. */
export const RBAC_HINT =
  'a namespace admin lets the kube-restore operator in with `kubectl apply -k deploy/rbac/opt-in -n NAMESPACE`; ' +
  'people who can `edit` a namespace get restore rights from deploy/rbac/aggregate-to-edit.yaml';

interface ApiLikeError {
  code?: number;
  statusCode?: number;
  body?: unknown;
  message?: string;
}

function statusOf(error: unknown): number | undefined {
  const e = error as ApiLikeError;
  const code = typeof e?.code === 'number' ? e.code : e?.statusCode;
  return typeof code === 'number' && code >= 100 && code < 600
    ? code
    : undefined;
}

/** The `message` of a Kubernetes Status body, whether the body is parsed or a string. */
export function apiStatusMessage(error: unknown): string | undefined {
  const body = (error as ApiLikeError)?.body;
  let status: unknown = body;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body);
    } catch {
      return body.trim() || undefined;
    }
  }
  const message = (status as { message?: unknown })?.message;
  return typeof message === 'string' && message ? message : undefined;
}

const ADMISSION_REFUSAL =
  /violates PodSecurity|admission webhook|exceeded quota|ValidatingAdmissionPolicy|denied request/i;

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EPIPE',
  'EAI_AGAIN',
]);

/** Translates an error from a client-node call made for `ctx`. RestoreErrors pass through. */
export function translateApiError(
  error: unknown,
  ctx: ApiCallContext,
): RestoreError {
  if (error instanceof RestoreError) return error;
  const where = ctx.namespace ? ` in namespace ${ctx.namespace}` : '';
  const what = ctx.name ? `${ctx.resource} "${ctx.name}"` : ctx.resource;
  const status = statusOf(error);
  const detail = apiStatusMessage(error);
  switch (status) {
    case 401:
      return new RestoreError(
        'Unauthorized',
        'the cluster rejected the credentials (401): check the kubeconfig, context or service account token',
        { statusCode: 401, cause: error },
      );
    case 403:
      // Admission refusals (Pod Security, quota, webhooks) also come back as 403: they are not RBAC.
      if (detail && ADMISSION_REFUSAL.test(detail)) {
        return new RestoreError(
          'Rejected',
          `the cluster refused to ${ctx.verb} ${what}${where}: ${detail}`,
          {
            statusCode: 403,
            cause: error,
          },
        );
      }
      return new RestoreError(
        'Forbidden',
        `forbidden: this identity may not ${ctx.verb} ${ctx.resource}${where}; ${RBAC_HINT}`,
        { statusCode: 403, cause: error },
      );
    case 404:
      return new RestoreError('NotFound', `${what} not found${where}`, {
        statusCode: 404,
        cause: error,
      });
    case 409:
      return new RestoreError(
        'Conflict',
        `${what} already exists${where}${detail ? `: ${detail}` : ''}`,
        {
          statusCode: 409,
          cause: error,
        },
      );
    case 400:
    case 422:
      return new RestoreError(
        detail && ADMISSION_REFUSAL.test(detail) ? 'Rejected' : 'Invalid',
        `the API server refused to ${ctx.verb} ${what}${where}: ${detail ?? `HTTP ${status}`}`,
        { statusCode: status, cause: error },
      );
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return new RestoreError(
        'Unavailable',
        `the API server could not ${ctx.verb} ${what}${where} (HTTP ${status})${detail ? `: ${detail}` : ''}; try again`,
        { statusCode: status, cause: error },
      );
    default:
      break;
  }
  if (status === undefined) {
    const code =
      (error as { code?: unknown; cause?: { code?: unknown } })?.code ??
      (error as { cause?: { code?: unknown } })?.cause?.code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) {
      return new RestoreError(
        'Unavailable',
        `cannot reach the API server (${code}) to ${ctx.verb} ${what}${where}`,
        {
          cause: error,
        },
      );
    }
  }
  if (status === undefined && (error as Error)?.name === 'AbortError') {
    return new RestoreError(
      'Unavailable',
      `timed out waiting for the API server to ${ctx.verb} ${what}${where}`,
      {
        cause: error,
      },
    );
  }
  return new RestoreError(
    'Failed',
    `failed to ${ctx.verb} ${what}${where}: ${detail ?? (error as Error)?.message ?? String(error)}`,
    { statusCode: status, cause: error },
  );
}

/** Runs a client-node call, translating its errors for `ctx`. */
export async function callApi<T>(
  ctx: ApiCallContext,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw translateApiError(error, ctx);
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof RestoreError
    ? error.kind === 'NotFound'
    : statusOf(error) === 404;
}

/** What `read` returns, or undefined when the object is not there (NotFound). */
export async function readOptional<T>(
  read: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
