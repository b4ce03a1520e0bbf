import { credentialsSecretName, inlineCredentials } from './inlineCredentials';
import { ManifestError } from './manifestError';

const target = {
  name: 'r1',
  namespace: 'team-a',
  labels: { 'app.kubernetes.io/name': 'kube-restore' },
};
const keys = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'shh' };

describe('inlineCredentials', () => {
  it('stores the keys in a Secret named after the restore and points the request at it', () => {
    const { credentials, secret } = inlineCredentials(
      { type: 'none' },
      keys,
      target,
    );
    expect(credentialsSecretName('r1')).toBe('r1-credentials');
    expect(credentials).toEqual({
      type: 'secret',
      secretName: 'r1-credentials',
      accessKeyIdKey: 'AWS_ACCESS_KEY_ID',
      secretAccessKeyKey: 'AWS_SECRET_ACCESS_KEY',
    });
    expect(secret).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'r1-credentials',
        namespace: 'team-a',
        labels: { 'app.kubernetes.io/name': 'kube-restore' },
      },
      type: 'Opaque',
      stringData: {
        AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'shh',
      },
    });
  });

  it('adds the session token and its expiry when there is a session', () => {
    const { credentials, secret } = inlineCredentials(
      { type: 'none' },
      { ...keys, sessionToken: 'tok', expiresAt: '2030-01-01T00:00:00Z' },
      target,
    );
    expect(credentials.sessionTokenKey).toBe('AWS_SESSION_TOKEN');
    expect(secret.stringData).toEqual({
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'shh',
      AWS_SESSION_TOKEN: 'tok',
      AWS_CREDENTIAL_EXPIRATION: '2030-01-01T00:00:00Z',
    });
  });

  it('leaves out an expiry without a session token', () => {
    const { credentials, secret } = inlineCredentials(
      { type: 'none' },
      { ...keys, expiresAt: '2030-01-01T00:00:00Z' },
      target,
    );
    expect(credentials).not.toHaveProperty('sessionTokenKey');
    expect(Object.keys(secret.stringData ?? {}).sort()).toEqual([
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
    ]);
  });

  it('refuses keys when the request names credentials itself', () => {
    expect(() =>
      inlineCredentials(
        { type: 'serviceAccount', serviceAccountName: 'irsa' },
        keys,
        target,
      ),
    ).toThrow(
      new ManifestError(
        'credentials: give keys to store or a credentials reference in the request, not both',
      ),
    );
  });

  it.each([
    [{ accessKeyId: '', secretAccessKey: 'shh' }],
    [{ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: '' }],
  ])('refuses half a key pair (%j)', half => {
    expect(() => inlineCredentials({ type: 'none' }, half, target)).toThrow(
      /both an access key id and a secret access key are needed/,
    );
  });
});
