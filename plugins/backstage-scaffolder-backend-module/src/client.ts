/**
 * The restore backend's HTTP API (`/api/restore`), called for the user who runs the template: every call
 * carries a token the auth service issues on behalf of the task's initiator, so the restore backend sees
 * that user and applies the same permissions, namespace consent, limits, approvals and audit as for a click
 * in the portal. Nothing is decided here.
 */
import {
  AuthService,
  BackstageCredentials,
  DiscoveryService,
} from '@backstage/backend-plugin-api';
import { ResponseError } from '@backstage/errors';
import type {
  PlanResult,
  RestoreView,
} from '@kube-restore/backstage-plugin-restore-common';

/** The body of `POST /restores` and `POST /plan` (the backend checks it; see its openapi.yaml). */
export interface RestoreBody {
  entityRef: string;
  name?: string;
  source: {
    name: string;
    path?: string;
    format?: string;
    include?: string[];
    exclude?: string[];
    stripPrefix?: string;
    asOf?: string;
    archiveTier?: string;
  };
  target: {
    pvc: string;
    mode?: string;
    size?: string;
    storageClassName?: string;
    accessModes?: string[];
    conflict?: string;
  };
  options?: Record<string, unknown>;
}

/** A refusal or failure of the restore backend, with its HTTP status and error name (`NotAllowedError`, ...). */
export class RestoreBackendError extends Error {
  name = 'RestoreBackendError';
  constructor(
    readonly statusCode: number,
    readonly errorName: string,
    message: string,
  ) {
    super(message);
  }
}

export class RestoreBackendClient {
  constructor(
    private readonly deps: {
      auth: AuthService;
      discovery: DiscoveryService;
    },
  ) {}

  plan(
    credentials: BackstageCredentials,
    body: RestoreBody,
    signal?: AbortSignal,
  ): Promise<PlanResult> {
    return this.call(credentials, 'POST', '/plan', body, signal);
  }

  create(
    credentials: BackstageCredentials,
    body: RestoreBody,
    signal?: AbortSignal,
  ): Promise<RestoreView> {
    return this.call(credentials, 'POST', '/restores', body, signal);
  }

  get(
    credentials: BackstageCredentials,
    id: string,
    signal?: AbortSignal,
  ): Promise<RestoreView> {
    return this.call(
      credentials,
      'GET',
      `/restores/${encodeURIComponent(id)}`,
      undefined,
      signal,
    );
  }

  private async call<T>(
    credentials: BackstageCredentials,
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const base = await this.deps.discovery.getBaseUrl('restore');
    const { token } = await this.deps.auth.getPluginRequestToken({
      onBehalfOf: credentials,
      targetPluginId: 'restore',
    });
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (!response.ok) {
      const error = await ResponseError.fromResponse(response);
      throw new RestoreBackendError(
        response.status,
        error.body.error.name,
        `${method} /api/restore${path} answered ${response.status} ${error.body.error.name}: ${error.body.error.message}`,
      );
    }
    return (await response.json()) as T;
  }
}
