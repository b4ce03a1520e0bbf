import {
  parseRestoreRequest,
  requestFromRestoreSource,
} from '@kube-restore/common';
import { buildDeclarativeRestore } from './populatorManifests';

const request = (extra: object = {}) =>
  parseRestoreRequest({
    name: 'seed',
    source: {
      bucket: 'backups',
      prefix: 'team-a/data/',
      endpoint: 'https://minio.example.com:9000',
    },
    target: { namespace: 'team-a', pvc: 'data', size: '10Gi' },
    options: { owner: { uid: 1000 }, concurrency: 4 },
    ...extra,
  });

describe('buildDeclarativeRestore', () => {
  it('writes what was asked for, and it parses back to the same request', () => {
    const r = request({
      credentials: { type: 'secret', secretName: 's3-keys' },
    });
    const d = buildDeclarativeRestore(r);
    expect(d.restoreSource).toEqual({
      apiVersion: 'kube-restore.io/v1alpha1',
      kind: 'RestoreSource',
      metadata: {
        name: 'seed',
        namespace: 'team-a',
        labels: expect.any(Object),
      },
      spec: {
        source: {
          bucket: 'backups',
          prefix: 'team-a/data/',
          endpoint: 'https://minio.example.com:9000',
        },
        credentials: { type: 'secret', secretName: 's3-keys' },
        options: { owner: { uid: 1000 }, concurrency: 4 },
      },
    });
    const back = requestFromRestoreSource(d.restoreSource.spec, {
      namespace: 'team-a',
      pvc: 'data',
      name: 'seed',
    });
    expect(back.source).toEqual(r.source);
    expect(back.credentials).toEqual(r.credentials);
    expect(back.options).toEqual(r.options);
    expect(d.pvc.spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '10Gi' } },
      dataSourceRef: {
        apiGroup: 'kube-restore.io',
        kind: 'RestoreSource',
        name: 'seed',
      },
    });
    expect(d.secret).toBeUndefined();
  });

  it('puts handed-over keys in a Secret the RestoreSource names', () => {
    const d = buildDeclarativeRestore(request(), {
      credentials: { accessKeyId: 'AKIA1', secretAccessKey: 's3cr3t' },
    });
    expect(d.secret?.metadata?.name).toBe('seed-credentials');
    expect(d.secret?.stringData).toEqual({
      AWS_ACCESS_KEY_ID: 'AKIA1',
      AWS_SECRET_ACCESS_KEY: 's3cr3t',
    });
    expect(d.restoreSource.spec.credentials).toEqual({
      type: 'secret',
      secretName: 'seed-credentials',
    });
    expect(JSON.stringify(d.restoreSource)).not.toContain('s3cr3t');
    const session = buildDeclarativeRestore(request(), {
      credentials: {
        accessKeyId: 'AKIA1',
        secretAccessKey: 's3cr3t',
        sessionToken: 'tok',
        expiresAt: '2026-12-06T14:00:00.000Z',
      },
    });
    expect(session.secret?.stringData).toMatchObject({
      AWS_SESSION_TOKEN: 'tok',
      AWS_CREDENTIAL_EXPIRATION: '2026-12-06T14:00:00.000Z',
    });
    expect(session.restoreSource.spec.credentials).toEqual({
      type: 'secret',
      secretName: 'seed-credentials',
      sessionTokenKey: 'AWS_SESSION_TOKEN',
    });
  });

  it('refuses an existing PVC and an unsized auto', () => {
    expect(() =>
      buildDeclarativeRestore(
        request({
          target: { namespace: 'team-a', pvc: 'data', mode: 'existing' },
        }),
      ),
    ).toThrow(/a populator fills only a new PVC/);
    expect(() =>
      buildDeclarativeRestore(
        request({ target: { namespace: 'team-a', pvc: 'data' } }),
      ),
    ).toThrow(/size the source first/);
    expect(
      buildDeclarativeRestore(
        request({ target: { namespace: 'team-a', pvc: 'data' } }),
        { resolvedSize: '2Gi' },
      ).pvc.spec?.resources?.requests,
    ).toEqual({ storage: '2Gi' });
  });
});
