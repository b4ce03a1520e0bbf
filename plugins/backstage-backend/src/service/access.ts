/**
 * Who may call which kind of route, before the permission framework is asked: users always; service tokens
 * only where config says so. The framework allows a service without access restrictions everything, so
 * without this gate the static token meant for `GET /exists` could create and delete restores.
 */
import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
import { RestoreConfig } from '../config';

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
