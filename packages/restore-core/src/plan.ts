/**
 * Planning a restore without creating anything (`kubectl restore plan`, the portal's preview): what the
 * source holds, whether the target PVC exists and has room, and whether this identity may create it.
 */
import {
  ANNOTATION_CREATED_BY,
  RestoreRequest,
  TargetPvcInfo,
  parseQuantity,
  restoreNameOf,
} from '@kube-restore/common';
import { KubeClients } from './clients';
import { readPvc } from './targetPvc';
import { AccessCheck, checkAccess } from './access';
import { SizeOptions, SourceSize, sizeSource } from './s3';
import {
  CredentialExpiry,
  estimateRestoreSeconds,
  judgeExpiry,
  sessionExpiry,
} from './credentialExpiry';

export type { TargetPvcInfo };

export interface RestorePlan {
  name: string;
  namespace: string;
  /** Undefined when the source could not be read (see `sourceError`). */
  size?: SourceSize;
  sourceError?: string;
  /** The PVC size create would ask for (`--size`, else the recommended size). */
  pvcSize?: string;
  pvc: TargetPvcInfo;
  /** Whether the data fits the PVC (the new one's size, or the existing one's capacity); unknown when either is. */
  fits?: boolean;
  access: AccessCheck[];
  /** Set when the access checks could not be made (then `access` is empty and a problem says so). */
  accessError?: string;
  /** When static session credentials expire, if they say (credentialExpiry.ts). */
  credentialExpiry?: CredentialExpiry;
  /** What would make `create` fail, in words; empty when it should succeed. */
  problems: string[];
}

export async function readTargetPvc(
  clients: KubeClients,
  namespace: string,
  name: string,
): Promise<TargetPvcInfo> {
  const pvc = await readPvc(clients, namespace, name);
  if (!pvc) return { name, namespace, exists: false };
  return {
    name,
    namespace,
    exists: true,
    capacity:
      pvc.status?.capacity?.storage ?? pvc.spec?.resources?.requests?.storage,
    phase: pvc.status?.phase,
    storageClassName: pvc.spec?.storageClassName,
    createdBy: pvc.metadata?.annotations?.[ANNOTATION_CREATED_BY],
  };
}

export async function planRestore(
  clients: KubeClients,
  request: RestoreRequest,
  options: SizeOptions & { withSecret?: boolean } = {},
): Promise<RestorePlan> {
  const name = restoreNameOf(request);
  const { namespace, pvc: pvcName, mode } = request.target;
  const problems: string[] = [];
  const [sized, pvc, checked] = await Promise.all([
    sizeSource(request.source, options).then(
      size => ({ size, error: undefined }),
      (error: Error) => ({ size: undefined, error: error.message }),
    ),
    readTargetPvc(clients, namespace, pvcName).catch(
      (error: Error): TargetPvcInfo => ({
        name: pvcName,
        namespace,
        exists: false,
        error: error.message,
      }),
    ),
    checkAccess(clients, request, { withSecret: options.withSecret }).then(
      checks => ({ checks, error: undefined }),
      (error: Error) => ({ checks: [] as AccessCheck[], error: error.message }),
    ),
  ]);
  const access = checked.checks;
  if (checked.error)
    problems.push(`the access checks could not be made: ${checked.error}`);
  if (sized.error) problems.push(`the source cannot be read: ${sized.error}`);
  const size = sized.size;
  if (size && size.objects === 0 && !request.options.allowEmpty)
    problems.push('no object matches the source and filters');
  if (
    size &&
    size.archivedObjects > 0 &&
    request.source.archive.tier === 'fail'
  ) {
    problems.push(
      `${size.archivedObjects} object(s) are archived: choose an archive tier to thaw them`,
    );
  }
  let pvcSize: string | undefined;
  let fits: boolean | undefined;
  if (pvc.error) {
    problems.push(`the target PVC cannot be read: ${pvc.error}`);
  } else if (mode === 'new') {
    pvcSize =
      request.target.size === 'auto'
        ? size?.recommendedSize
        : request.target.size;
    if (pvc.exists && pvc.createdBy !== name) {
      problems.push(
        `PVC "${pvcName}" already exists in namespace ${namespace}; restore into it with --existing-pvc or choose another name`,
      );
    }
    if (pvcSize && size) {
      fits = parseQuantity(pvcSize) >= size.diskBytes;
      if (!fits)
        problems.push(
          `a PVC of ${pvcSize} is smaller than the data (about ${size.diskBytes} bytes on disk)`,
        );
    }
  } else if (!pvc.exists) {
    problems.push(`PVC "${pvcName}" not found in namespace ${namespace}`);
  } else if (pvc.capacity && size) {
    fits = parseQuantity(pvc.capacity) >= size.diskBytes;
    if (!fits)
      problems.push(
        `PVC "${pvcName}" (${pvc.capacity}) is smaller than the data (about ${size.diskBytes} bytes on disk)`,
      );
  }
  let credentialExpiry: CredentialExpiry | undefined;
  try {
    const session = await sessionExpiry(clients, request, options.credentials);
    if (session) {
      const verdict = judgeExpiry(
        session,
        size ? estimateRestoreSeconds(request, size) : undefined,
        new Date(),
      );
      credentialExpiry = verdict.expiry;
      if (verdict.problem) problems.push(verdict.problem);
    }
  } catch (error) {
    problems.push((error as Error).message);
  }
  const denied = access.filter(a => !a.allowed);
  if (denied.length) {
    const what = denied
      .map(
        a =>
          `${a.verb} ${a.resource}${a.subresource ? `/${a.subresource}` : ''}`,
      )
      .join(', ');
    problems.push(`this identity may not ${what} in namespace ${namespace}`);
  }
  return {
    name,
    namespace,
    size,
    sourceError: sized.error,
    pvcSize,
    pvc,
    fits,
    access,
    ...(checked.error ? { accessError: checked.error } : {}),
    ...(credentialExpiry ? { credentialExpiry } : {}),
    problems,
  };
}
