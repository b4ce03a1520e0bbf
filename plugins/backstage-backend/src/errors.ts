/** The one place that maps core's RestoreError kinds to @backstage/errors (and so to HTTP statuses). */
import {
  ConflictError,
  CustomErrorBase,
  InputError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import { RestoreError } from '@kube-restore/core';

/** A quota or limit was reached: 429, with the limit in the message. */
export class QuotaExceededError extends CustomErrorBase {
  name = 'QuotaExceededError' as const;
  statusCode = 429;
}

/** Core's error from the cluster's side; 502 when the cluster (not the user) failed. */
export class ClusterError extends CustomErrorBase {
  name = 'ClusterError' as const;
  statusCode = 502;
}

export function toBackstageError(error: unknown): Error {
  if (!(error instanceof RestoreError)) return error as Error;
  switch (error.kind) {
    case 'Invalid':
      return new InputError(error.message);
    case 'NotFound':
      return new NotFoundError(error.message);
    case 'Conflict':
      return new ConflictError(error.message);
    case 'Forbidden':
      // The operator identity lacks RBAC in the namespace: not the user's permission, but the fix is the same kind.
      return new NotAllowedError(error.message);
    case 'Rejected':
      return new InputError(error.message);
    case 'Unavailable':
      return new ServiceUnavailableError(error.message);
    case 'Unauthorized':
      return new ClusterError(
        `the cluster rejected the backend's credentials: ${error.message}`,
      );
    default:
      return new ClusterError(error.message);
  }
}

/** Runs `fn`, translating RestoreErrors. */
export async function translated<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toBackstageError(error);
  }
}
