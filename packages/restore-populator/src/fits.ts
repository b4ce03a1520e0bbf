/**
 * Does the source fit the user's PVC? Sized with core's sizeSource (the same listing the Job will
 * read) before a restore starts, so that a source too big for the PVC is refused with an event that
 * names both sizes instead of a Job that fills the volume and fails with NO_SPACE.
 *
 * The populator sizes with the keys of the credentials Secret the RestoreSource names (read in the
 * opted-in namespace, never logged). Other credentials (a ServiceAccount's or the node's identity)
 * belong to the Job's pod, not to this process: those sources are not sized here, and the Job's own
 * NO_SPACE check is what guards them.
 */
import {
  formatBytes,
  parseQuantity,
  RestoreRequest,
} from '@kube-restore/common';
import { callApi, KubeClients, S3Keys, sizeSource } from '@kube-restore/core';

export const CODE_TOO_BIG = 'SOURCE_TOO_BIG';

export type FitResult =
  | { fits: true; neededBytes: number }
  | { fits: false; message: string }
  | { fits: undefined; why: string };

/** Compares what the source needs on disk with what `pvc` requests. */
export async function sourceFits(
  clients: KubeClients,
  request: RestoreRequest,
  pvc: { name: string; storage: string | undefined },
): Promise<FitResult> {
  if (!pvc.storage) return { fits: undefined, why: 'the PVC requests no size' };
  const credentials = await keysOf(clients, request);
  if (credentials === 'not-ours')
    return {
      fits: undefined,
      why: `credentials of type ${request.credentials.type} are the Job's, not the populator's`,
    };
  const size = await sizeSource(request.source, { credentials });
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

async function keysOf(
  clients: KubeClients,
  request: RestoreRequest,
): Promise<S3Keys | undefined | 'not-ours'> {
  const c = request.credentials;
  if (c.type !== 'secret') return 'not-ours';
  const namespace = request.target.namespace;
  const secret = await callApi(
    {
      verb: 'get',
      resource: 'secrets',
      namespace,
      name: c.secretName,
    },
    () => clients.core.readNamespacedSecret({ name: c.secretName, namespace }),
  );
  const value = (key: string | undefined) => {
    const data = key ? secret.data?.[key] : undefined;
    return data === undefined
      ? undefined
      : Buffer.from(data, 'base64').toString('utf8');
  };
  const accessKeyId = value(c.accessKeyIdKey);
  const secretAccessKey = value(c.secretAccessKeyKey);
  if (!accessKeyId || !secretAccessKey)
    throw new Error(
      `Secret ${namespace}/${c.secretName} lacks key ${accessKeyId ? c.secretAccessKeyKey : c.accessKeyIdKey}`,
    );
  const sessionToken = value(c.sessionTokenKey);
  return {
    accessKeyId,
    secretAccessKey,
    ...(sessionToken ? { sessionToken } : {}),
  };
}
