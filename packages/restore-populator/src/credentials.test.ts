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
const clientsWith = (data?: Record<string, string>) =>
  ({
    core: {
      readNamespacedSecret: async ({ name }: { name: string }) => {
        if (!data)
          throw Object.assign(new Error(`secrets "${name}" not found`), {
            code: 404,
          });
        return {
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
