/**
 * Who may call which kind of route, before the permission framework is asked: users always; service tokens
 * only where config says so. The framework allows a service without access restrictions everything, so
 * without this gate the static token meant for `GET /exists` could create and delete restores.
 */
import {
  AuditorService,
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError, NotFoundError } from '@backstage/errors';
import {
  AuthorizeResult,
  ResourcePermission,
} from '@backstage/plugin-permission-common';
import { RestoreConfig } from '../config';
import { RestoreRecord, RestoreStore } from './RestoreStore';

/** Who is asking, and the HTTP request for the audit log. */
export interface Caller {
  credentials: BackstageCredentials;
  request?: Parameters<AuditorService['createEvent']>[0]['request'];
}

/** The permission framework's answers on catalog entities, and records looked up for a caller. */
export class RestoreAccess {
  constructor(
    private readonly permissions: PermissionsService,
    private readonly store: Pick<RestoreStore, 'get'>,
  ) {}

  /** Throws NotAllowedError (403) unless the framework allows `permission` on the entity. */
  async authorize(
    permission: ResourcePermission<'catalog-entity'>,
    entityRef: string,
    credentials: BackstageCredentials,
    what: string,
  ): Promise<void> {
    const [decision] = await this.permissions.authorize(
      [{ permission, resourceRef: entityRef }],
      { credentials },
    );
    if (decision.result !== AuthorizeResult.ALLOW)
      throw new NotAllowedError(`you may not ${what} ${entityRef}`);
  }

  /** The entities of `refs` on which the framework allows `permission`, in one call. */
  async allowed(
    permission: ResourcePermission<'catalog-entity'>,
    refs: string[],
    credentials: BackstageCredentials,
  ): Promise<Set<string>> {
    if (!refs.length) return new Set();
    const decisions = await this.permissions.authorize(
      refs.map(resourceRef => ({ permission, resourceRef })),
      { credentials },
    );
    return new Set(
      refs.filter((_, i) => decisions[i].result === AuthorizeResult.ALLOW),
    );
  }

  async record(id: string): Promise<RestoreRecord> {
    const record = await this.store.get(id);
    if (!record) throw new NotFoundError(`restore ${id} not found`);
    return record;
  }

  /** The record of a restore, once the caller may act on its entity (NotFound before NotAllowed). */
  async authorizedRecord(
    id: string,
    permission: ResourcePermission<'catalog-entity'>,
    what: string,
    caller: Caller,
  ): Promise<RestoreRecord> {
    const record = await this.record(id);
    await this.authorize(
      permission,
      record.entityRef,
      caller.credentials,
      what,
    );
    return record;
  }
}

/** `exists`: pvc-plumber's question; `read`: routes without effects; `write`: create, delete, approve, reject. */
export type RouteKind = 'exists' | 'read' | 'write';

/** The requester as recorded: a user entity ref, or `service:<subject>`. */
export function requesterOf(credentials: BackstageCredentials): string {
  const p = credentials.principal as {
    type: string;
    userEntityRef?: string;
    subject?: string;
  };
  if (p.type === 'user') return p.userEntityRef!;
  if (p.type === 'service') return `service:${p.subject}`;
  return 'anonymous';
}

/** Throws NotAllowedError (403) when a service principal may not call a route of this kind. */
export function checkServiceAccess(
  config: RestoreConfig['serviceAccess'],
  credentials: BackstageCredentials,
  kind: RouteKind,
): void {
  const principal = credentials.principal as { type: string; subject?: string };
  if (principal.type !== 'service' || kind === 'exists') return;
  const subject = principal.subject ?? '';
  if (config.write.includes(subject)) return;
  if (kind === 'read' && config.read) return;
  throw new NotAllowedError(
    kind === 'read'
      ? `service ${subject} may not read restores: allow service tokens with kubeRestore.serviceAccess.read, or name it in kubeRestore.serviceAccess.write`
      : `service ${subject} may not create, delete, approve or reject restores: only users, or services named in kubeRestore.serviceAccess.write`,
  );
}
