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

/** Longest value read from the Secret: S3 keys are tens of characters, session tokens about 1-2 KiB. */
export const MAX_KEY_VALUE_LENGTH = 4096;

/**
 * Why a value read from the Secret is no usable key: whitespace or control characters (a trailing
 * newline of `--from-file`, say) would be sent as part of the key, and an oversized one is no key.
 */
function keyValueProblem(text: string): string | undefined {
  if (text.length > MAX_KEY_VALUE_LENGTH)
    return `is longer than ${MAX_KEY_VALUE_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f-\u009f]/.test(text))
    return 'holds whitespace or control characters (a trailing newline from --from-file?)';
  return undefined;
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
  const where = `Secret ${namespace}/${c.secretName}`;
  // a service-account token or TLS Secret is no S3 key pair: only an Opaque one is read
  const type = secret.type ?? 'Opaque';
  if (type !== 'Opaque')
    throw new CredentialsError(
      `${where} is of type ${type}; the RestoreSource's keys must be in an Opaque Secret`,
    );
  const data = secret.data ?? {};
  const value = (key: string | undefined) => {
    // own keys only: `__proto__` or `constructor` is no key of the Secret
    if (!key || !Object.hasOwn(data, key)) return undefined;
    const text = Buffer.from(data[key], 'base64').toString('utf8');
    const why = keyValueProblem(text);
    // names the key, never the value
    if (why) throw new CredentialsError(`${where} key ${key} ${why}`);
    return text;
  };
  const accessKeyId = value(c.accessKeyIdKey);
  const secretAccessKey = value(c.secretAccessKeyKey);
  if (!accessKeyId || !secretAccessKey)
    throw new CredentialsError(
      `${where} lacks key ${accessKeyId ? c.secretAccessKeyKey : c.accessKeyIdKey}`,
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
