/**
 * Keys handed over by the caller -> a credentials Secret and the `secret` credentials reference
 * that names it, pure. Both the Job-based restore (manifests.ts) and the declarative one
 * (populatorManifests.ts) store keys this way; only the Secret's labels differ.
 */
import type { V1Secret } from '@kubernetes/client-node';
import type { RestoreRequest } from '@kube-restore/common';
import { ManifestError } from './manifestError';

/** Static S3 keys handed over by the caller (kubectl `--credentials-from-env`, a Backstage source). */
export interface S3Keys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When a session token expires (ISO 8601), as `aws configure export-credentials` gives it. */
  expiresAt?: string;
}

export interface InlineCredentials {
  /** The request's credentials, pointing at `secret`. */
  credentials: Extract<RestoreRequest['credentials'], { type: 'secret' }>;
  secret: V1Secret;
}

export interface InlineCredentialsTarget {
  /** The restore's name: the Secret is named after it (credentialsSecretName). */
  name: string;
  namespace: string;
  labels: Record<string, string>;
}

export function credentialsSecretName(restoreName: string): string {
  return `${restoreName}-credentials`;
}

/**
 * The Secret holding `keys` and the credentials reference naming it. `requested` is what the request
 * itself says about credentials: it must be `none`, since keys and a reference together are ambiguous.
 */
export function inlineCredentials(
  requested: RestoreRequest['credentials'],
  keys: S3Keys,
  target: InlineCredentialsTarget,
): InlineCredentials {
  if (requested.type !== 'none')
    throw new ManifestError(
      'credentials: give keys to store or a credentials reference in the request, not both',
    );
  const { accessKeyId, secretAccessKey, sessionToken, expiresAt } = keys;
  if (!accessKeyId || !secretAccessKey)
    throw new ManifestError(
      'credentials: both an access key id and a secret access key are needed',
    );
  const secretName = credentialsSecretName(target.name);
  return {
    credentials: {
      type: 'secret',
      secretName,
      accessKeyIdKey: 'AWS_ACCESS_KEY_ID',
      secretAccessKeyKey: 'AWS_SECRET_ACCESS_KEY',
      ...(sessionToken ? { sessionTokenKey: 'AWS_SESSION_TOKEN' } : {}),
    },
    secret: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: secretName,
        namespace: target.namespace,
        labels: target.labels,
      },
      type: 'Opaque',
      stringData: {
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: secretAccessKey,
        ...(sessionToken ? { AWS_SESSION_TOKEN: sessionToken } : {}),
        // Not read by the job: it tells a later plan when the session ends (credentialExpiry.ts).
        ...(sessionToken && expiresAt
          ? { AWS_CREDENTIAL_EXPIRATION: expiresAt }
          : {}),
      },
    },
  };
}
