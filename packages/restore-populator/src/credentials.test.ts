import { parseRestoreRequest } from '@kube-restore/common';
import type { KubeClients } from '@kube-restore/core';
import {
  CODE_CREDENTIALS,
  restoreSourceKeys,
  withCopiedKeys,
} from './credentials';

const request = (credentials: object) =>
  parseRestoreRequest({
    name: 'prime-x',
    source: { bucket: 'datasets', prefix: 'p/' },
    target: { namespace: 'team-a', pvc: 'prime-x', mode: 'existing' },
    credentials,
  });

/** The one call restoreSourceKeys makes: read a Secret (data base64, as the API returns it). */
const clientsWith = (data?: Record<string, string>, type?: string) =>
  ({
    core: {
      readNamespacedSecret: async ({ name }: { name: string }) => {
        if (!data)
          throw Object.assign(new Error(`secrets "${name}" not found`), {
            code: 404,
          });
        return {
          ...(type ? { type } : {}),
          data: Object.fromEntries(
            Object.entries(data).map(([k, v]) => [
              k,
              Buffer.from(v).toString('base64'),
            ]),
          ),
        };
      },
    },
  }) as unknown as KubeClients;

describe('restoreSourceKeys', () => {
  it("reads the keys the RestoreSource's Secret holds under the names it gives", async () => {
    const keys = await restoreSourceKeys(
      clientsWith({ id: 'AKIA', secret: 's3cr3t', token: 'tok' }),
      request({
        type: 'secret',
        secretName: 'keys',
        accessKeyIdKey: 'id',
        secretAccessKeyKey: 'secret',
        sessionTokenKey: 'token',
      }),
    );
    expect(keys).toEqual({
      accessKeyId: 'AKIA',
      secretAccessKey: 's3cr3t',
      sessionToken: 'tok',
    });
  });

  it('has nothing to read for credentials that are the Job pod’s own', async () => {
    expect(
      await restoreSourceKeys(clientsWith(), request({ type: 'anonymous' })),
    ).toBeUndefined();
  });

  it('fails with a code naming the missing Secret or key, never a value', async () => {
    const missing = restoreSourceKeys(
      clientsWith(),
      request({ type: 'secret', secretName: 'keys' }),
    );
    await expect(missing).rejects.toMatchObject({ code: CODE_CREDENTIALS });
    await expect(missing).rejects.toThrow(/could not be read/);
    const noSecretKey = restoreSourceKeys(
      clientsWith({ AWS_ACCESS_KEY_ID: 'AKIA-VALUE' }),
      request({ type: 'secret', secretName: 'keys' }),
    );
    await expect(noSecretKey).rejects.toThrow(
      'Secret team-a/keys lacks key AWS_SECRET_ACCESS_KEY',
    );
    await expect(noSecretKey).rejects.not.toThrow(/AKIA-VALUE/);
  });

  it('reads no inherited property as a key: __proto__ or constructor is a missing key', async () => {
    for (const key of ['__proto__', 'constructor', 'toString']) {
      const keys = restoreSourceKeys(
        clientsWith({ AWS_SECRET_ACCESS_KEY: 's3cr3t' }),
        request({ type: 'secret', secretName: 'keys', accessKeyIdKey: key }),
      );
      await expect(keys).rejects.toMatchObject({ code: CODE_CREDENTIALS });
      await expect(keys).rejects.toThrow(`Secret team-a/keys lacks key ${key}`);
    }
  });

  it('refuses a Secret that is not Opaque, such as a service-account token', async () => {
    const keys = restoreSourceKeys(
      clientsWith(
        { AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 's3cr3t' },
        'kubernetes.io/service-account-token',
      ),
      request({ type: 'secret', secretName: 'keys' }),
    );
    await expect(keys).rejects.toMatchObject({ code: CODE_CREDENTIALS });
    await expect(keys).rejects.toThrow(
      'Secret team-a/keys is of type kubernetes.io/service-account-token',
    );
    // an Opaque one, named so, is read
    await expect(
      restoreSourceKeys(
        clientsWith(
          { AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 's3cr3t' },
          'Opaque',
        ),
        request({ type: 'secret', secretName: 'keys' }),
      ),
    ).resolves.toEqual({ accessKeyId: 'AKIA', secretAccessKey: 's3cr3t' });
  });

  it('refuses a value with whitespace or controls, or too long, naming the key and never the value', async () => {
    const bad: [string, RegExp][] = [
      [
        's3cr3t-VALUE\n',
        /key AWS_SECRET_ACCESS_KEY holds whitespace or control/,
      ],
      ['s3cr3t VALUE', /key AWS_SECRET_ACCESS_KEY holds whitespace or control/],
      ['s3cr3t\x1b[2J-VALUE', /key AWS_SECRET_ACCESS_KEY holds whitespace/],
      ['s3cr3t\u0085-VALUE', /key AWS_SECRET_ACCESS_KEY holds whitespace/],
      [
        `VALUE${'x'.repeat(4092)}`,
        /key AWS_SECRET_ACCESS_KEY is longer than 4096/,
      ],
    ];
    for (const [value, message] of bad) {
      const keys = restoreSourceKeys(
        clientsWith({
          AWS_ACCESS_KEY_ID: 'AKIA',
          AWS_SECRET_ACCESS_KEY: value,
        }),
        request({ type: 'secret', secretName: 'keys' }),
      );
      await expect(keys).rejects.toMatchObject({ code: CODE_CREDENTIALS });
      await expect(keys).rejects.toThrow(message);
      await expect(keys).rejects.not.toThrow(/VALUE/);
    }
    // 4096 characters is still a key
    await expect(
      restoreSourceKeys(
        clientsWith({
          AWS_ACCESS_KEY_ID: 'AKIA',
          AWS_SECRET_ACCESS_KEY: 'x'.repeat(4096),
        }),
        request({ type: 'secret', secretName: 'keys' }),
      ),
    ).resolves.toMatchObject({ accessKeyId: 'AKIA' });
  });
});

describe('withCopiedKeys', () => {
  it("hands the keys to core (the restore's own Secret) instead of naming the user's Secret", () => {
    const r = request({ type: 'secret', secretName: 'keys' });
    const keys = { accessKeyId: 'a', secretAccessKey: 'b' };
    const copied = withCopiedKeys(r, keys);
    expect(copied.request.credentials).toEqual({ type: 'none' });
    expect(copied.credentials).toBe(keys);
    expect(copied.request.source).toEqual(r.source);
  });

  it('leaves other credentials as they are', () => {
    const r = request({ type: 'anonymous' });
    expect(withCopiedKeys(r, undefined)).toEqual({ request: r });
  });
});
