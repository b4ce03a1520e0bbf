/**
 * Does the source fit the user's PVC? Sized with core's sizeSource (the same listing the Job will
 * read) before a restore starts, so that a source too big for the PVC is refused with an event that
 * names both sizes instead of a Job that fills the volume and fails with NO_SPACE.
 *
 * The populator sizes with the keys of the credentials Secret the RestoreSource names (credentials.ts,
 * read in the opted-in namespace, never logged). Other credentials (a ServiceAccount's or the node's identity)
 * belong to the Job's pod, not to this process: those sources are not sized here, and the Job's own
 * NO_SPACE check is what guards them.
 */
import {
  formatBytes,
  parseQuantity,
  RestoreRequest,
} from '@kube-restore/common';
import { S3Keys, sizeSource } from '@kube-restore/core';

export const CODE_TOO_BIG = 'SOURCE_TOO_BIG';

export type FitResult =
  | { fits: true; neededBytes: number }
  | { fits: false; message: string }
  | { fits: undefined; why: string };

/**
 * Compares what the source needs on disk with what `pvc` requests. `keys`: those of the
 * RestoreSource's Secret (restoreSourceKeys), undefined for other credentials.
 */
export async function sourceFits(
  request: RestoreRequest,
  keys: S3Keys | undefined,
  pvc: { name: string; storage: string | undefined },
  options: { signal?: AbortSignal } = {},
): Promise<FitResult> {
  if (!pvc.storage) return { fits: undefined, why: 'the PVC requests no size' };
  if (request.credentials.type !== 'secret' || !keys)
    return {
      fits: undefined,
      why: `credentials of type ${request.credentials.type} are the Job's, not the populator's`,
    };
  const size = await sizeSource(request.source, {
    credentials: keys,
    signal: options.signal,
  });
  const requested = parseQuantity(pvc.storage);
  if (size.diskBytes <= requested)
    return { fits: true, neededBytes: size.diskBytes };
  return {
    fits: false,
    message:
      `the source needs ${formatBytes(size.diskBytes)} on disk (${size.objects} object(s)` +
      `${size.estimated ? ', estimated' : ''}; a PVC of ${size.recommendedSize} would do) ` +
      `but PVC ${pvc.name} requests ${pvc.storage} (${formatBytes(requested)})`,
  };
}
