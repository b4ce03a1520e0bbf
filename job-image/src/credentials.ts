/**
 * Where the program's S3 credentials may come from, by the request's `credentials.type`, so that none
 * falls through to another source (the node's instance role above all):
 * - `secret`: only the keys core put in the environment from the Secret (secretKeyRef); missing keys
 *   are INVALID_CREDENTIALS naming the Secret, never a fallback;
 * - `serviceAccount`: only the pod's web identity (IRSA's token file) or EKS Pod Identity's container
 *   endpoint; static keys in the environment are dropped;
 * - `nodeIdentity`: only the node's instance metadata (IMDS);
 * - `anonymous`: none at all; requests go unsigned (S3Access);
 * - `none`: static keys in the environment when someone runs the program with them (outside a Job,
 *   the tests); never instance metadata or a container endpoint.
 * The AWS SDK reads process.env, so main.ts applies this to it before any S3 call.
 */
import type { RestoreCredentials } from '@kube-restore/common';
import { RestoreError } from './errors';

const STATIC_KEYS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
];
const WEB_IDENTITY = ['AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN'];
const CONTAINER_ENDPOINT = [
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
];
const IMDS_DISABLED = 'AWS_EC2_METADATA_DISABLED';

/** Restricts `env` (process.env in the program) to the sources `credentials` allows. */
export function applyCredentialSources(
  credentials: RestoreCredentials,
  env: NodeJS.ProcessEnv,
): void {
  const drop = (names: string[]) => names.forEach(n => delete env[n]);
  switch (credentials.type) {
    case 'secret':
      if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) {
        throw new RestoreError(
          'INVALID_CREDENTIALS',
          `the keys of Secret "${credentials.secretName}" (${credentials.accessKeyIdKey}, ${credentials.secretAccessKeyKey}) are not in the environment; no other credentials are used`,
        );
      }
      drop([...WEB_IDENTITY, ...CONTAINER_ENDPOINT]);
      env[IMDS_DISABLED] = 'true';
      return;
    case 'serviceAccount':
      drop(STATIC_KEYS);
      env[IMDS_DISABLED] = 'true';
      return;
    case 'anonymous':
      drop([...STATIC_KEYS, ...WEB_IDENTITY, ...CONTAINER_ENDPOINT]);
      env[IMDS_DISABLED] = 'true';
      return;
    case 'nodeIdentity':
      drop([...STATIC_KEYS, ...WEB_IDENTITY, ...CONTAINER_ENDPOINT]);
      delete env[IMDS_DISABLED];
      return;
    default:
      drop([...WEB_IDENTITY, ...CONTAINER_ENDPOINT]);
      env[IMDS_DISABLED] = 'true';
  }
}
