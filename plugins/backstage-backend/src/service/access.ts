/**
 * Who may call which kind of route, before the permission framework is asked: users always; service tokens
 * only where config says so. The framework allows a service without access restrictions everything (the
 * policy is never asked), so without this gate the static token meant for `GET /exists` could create and
 * delete restores, and a service allowed to write could do so for any entity: the plugin itself scopes
 * each writing service to the catalog owners config lists for it, and never lets a service approve.
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
import { restoreReadPermission } from '@kube-restore/backstage-plugin-restore-common';
import { RestoreConfig } from '../config';
import { normalizeOwnerRef } from './consent';
import { RestoreRecord, RestoreStore } from './RestoreStore';

/** Who is asking, and the HTTP request for the audit log. */
export interface Caller {
  credentials: BackstageCredentials;
  request?: Parameters<AuditorService['createEvent']>[0]['request'];
}

/** An entity as access is decided on it: its ref, and its `spec.owner` (the owner consent checks). */
export interface AccessTarget {
  entityRef: string;
  ownerRef?: string;
}

/** The permission framework's answers on catalog entities, and records looked up for a caller. */
export class RestoreAccess {
  constructor(
    private readonly permissions: PermissionsService,
    private readonly store: Pick<RestoreStore, 'get'>,
    private readonly serviceAccess: RestoreConfig['serviceAccess'],
  ) {}

  /**
   * Throws NotAllowedError (403) unless `permission` is allowed on the entity: for a service, first its
   * scope in config (checkServiceScope; `kind` 'read' for a plan, which writes nothing); then, for
   * everyone, the permission framework.
   */
  async authorize(
    permission: ResourcePermission<'catalog-entity'>,
    target: AccessTarget,
    credentials: BackstageCredentials,
    what: string,
    kind: RouteKind = permission.name === 'restore.read' ? 'read' : 'write',
  ): Promise<void> {
    const { entityRef } = target;
    checkServiceScope(
      this.serviceAccess,
      credentials,
      permission,
      kind,
      target,
      what,
    );
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

  /** Whether a service may read restores of this owner (always with serviceAccess.read); users: yes, the framework decides. */
  mayRead(target: AccessTarget, credentials: BackstageCredentials): boolean {
    try {
      checkServiceScope(
        this.serviceAccess,
        credentials,
        restoreReadPermission,
        'read',
        target,
        'read restores of',
      );
      return true;
    } catch {
      return false;
    }
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
    await this.authorize(permission, record, caller.credentials, what);
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
  if (config.write.some(w => w.subject === subject)) return;
  if (kind === 'read' && config.read) return;
  throw new NotAllowedError(
    kind === 'read'
      ? `service ${subject} may not read restores: allow service tokens with kubeRestore.serviceAccess.read, or name it in kubeRestore.serviceAccess.write`
      : `service ${subject} may not create, delete, approve or reject restores: only users, or services named in kubeRestore.serviceAccess.write with the owners they act for`,
  );
}

/**
 * What a service principal may do to one entity, which the permission framework does not decide for it:
 * create and delete only for an entity whose owner is in the subject's `owners` in
 * kubeRestore.serviceAccess.write; approve and reject never (approving is a person's act); reads (and
 * plans, `kind` 'read') of every entity with kubeRestore.serviceAccess.read, else only of its owners'.
 * Users pass: the framework decides for them.
 */
export function checkServiceScope(
  config: RestoreConfig['serviceAccess'],
  credentials: BackstageCredentials,
  permission: ResourcePermission<'catalog-entity'>,
  kind: RouteKind,
  target: AccessTarget,
  what: string,
): void {
  const principal = credentials.principal as { type: string; subject?: string };
  if (principal.type !== 'service') return;
  const reading = kind === 'read' || permission.name === 'restore.read';
  if (reading && config.read) return;
  const subject = principal.subject ?? '';
  if (permission.name === 'restore.approve')
    throw new NotAllowedError(
      `service ${subject} may not approve or reject restores: approvals are made by people in an approver group`,
    );
  const writer = config.write.find(w => w.subject === subject);
  const owner = target.ownerRef && normalizeOwnerRef(target.ownerRef);
  if (writer && owner && writer.owners.includes(owner)) return;
  const entry = `{ subject: '${subject}', owners: [${[...(writer?.owners ?? []), owner ?? 'OWNER'].map(o => `'${o}'`).join(', ')}] }`;
  throw new NotAllowedError(
    owner
      ? `service ${subject} may not ${what} ${target.entityRef}: its owner ${owner} is not among the owners kubeRestore.serviceAccess.write lists for ${subject}; to let it act for that owner, config must say ${entry}${reading ? ' (or kubeRestore.serviceAccess.read: true lets every service read every entity)' : ''}`
      : `service ${subject} may not ${what} ${target.entityRef}: the entity has no spec.owner, and a service acts only for the owners kubeRestore.serviceAccess.write lists for it`,
  );
}
