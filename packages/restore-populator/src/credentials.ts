/**
 * The keys of the credentials Secret a RestoreSource names, read in its (opted-in) namespace and
 * never logged. They size the source (fits.ts), and the restore gets a copy of them in its own
 * Secret, `<restore>-credentials`, owned by its Job (core's inline credentials): the one credentials
 * Secret shape deploy/policy admits from the populator. The Job then never names the user's Secret,
 * and the copy goes with the Job.
 */
import { RestoreRequest } from '@kube-restore/common';
import { callApi, KubeClients, S3Keys } from '@kube-restore/core';

/** Why the keys could not be read: a failure of the PVC's population, with this code. */
export const CODE_CREDENTIALS = 'CREDENTIALS_NOT_FOUND';

export class CredentialsError extends Error {
  readonly code = CODE_CREDENTIALS;
}

/** The keys of a `secret` credentials reference; undefined for any other type (the Job's own). */
export async function restoreSourceKeys(
  clients: KubeClients,
  request: RestoreRequest,
): Promise<S3Keys | undefined> {
  const c = request.credentials;
  if (c.type !== 'secret') return undefined;
  const namespace = request.target.namespace;
  let secret;
  try {
    secret = await callApi(
      { verb: 'get', resource: 'secrets', namespace, name: c.secretName },
      () =>
        clients.core.readNamespacedSecret({ name: c.secretName, namespace }),
    );
  } catch (e) {
    throw new CredentialsError(
      `the credentials Secret of the RestoreSource could not be read: ${(e as Error).message}`,
    );
  }
  const value = (key: string | undefined) => {
    const data = key ? secret.data?.[key] : undefined;
    return data === undefined
      ? undefined
      : Buffer.from(data, 'base64').toString('utf8');
  };
  const accessKeyId = value(c.accessKeyIdKey);
  const secretAccessKey = value(c.secretAccessKeyKey);
  if (!accessKeyId || !secretAccessKey)
    throw new CredentialsError(
      `Secret ${namespace}/${c.secretName} lacks key ${accessKeyId ? c.secretAccessKeyKey : c.accessKeyIdKey}`,
    );
  const sessionToken = value(c.sessionTokenKey);
  return {
    accessKeyId,
    secretAccessKey,
    ...(sessionToken ? { sessionToken } : {}),
  };
}

/**
 * The request the restore Job is made from: with keys, credentials `none` and the keys handed to
 * createRestore, which stores them in the restore's own Secret and points the Job at it.
 */
export function withCopiedKeys(
  request: RestoreRequest,
  keys: S3Keys | undefined,
): { request: RestoreRequest; credentials?: S3Keys } {
  if (!keys) return { request };
  return {
    request: { ...request, credentials: { type: 'none' } },
    credentials: keys,
  };
}
