import { RestoreRequestError } from './fieldProblems';
import {
  parseRestoreRequest,
  restoreNameOf,
  safeParseRestoreRequest,
} from './request';
import { DEFAULT_CONCURRENCY } from './requestOptions';

const minimal = {
  source: { bucket: 'datasets', prefix: 'team-a/2026/' },
  target: { namespace: 'team-a', pvc: 'data' },
};

function problemsOf(input: unknown) {
  const result = safeParseRestoreRequest(input);
  if (result.ok) throw new Error('expected the request to be rejected');
  return result.problems;
}

describe('RestoreRequest schema', () => {
  it('applies every default to a minimal request', () => {
    const request = parseRestoreRequest(minimal);
    expect(request).toEqual({
      apiVersion: 'kube-restore.io/v1',
      source: {
        region: 'us-east-1',
        bucket: 'datasets',
        prefix: 'team-a/2026/',
        format: 'auto',
        include: [],
        exclude: [],
        archive: { tier: 'fail', days: 1, waitSeconds: 172800 },
        pathStyle: false,
      },
      target: {
        namespace: 'team-a',
        pvc: 'data',
        mode: 'new',
        size: 'auto',
        accessModes: ['ReadWriteOnce'],
        conflict: 'fail',
      },
      credentials: { type: 'none' },
      options: {
        parallelism: 1,
        verify: true,
        owner: {},
        ttlSecondsAfterFinished: 86400,
        backoffLimit: 3,
        allowEmpty: false,
      },
    });
  });

  it('treats a missing prefix and key as the whole bucket', () => {
    const request = parseRestoreRequest({
      ...minimal,
      source: { bucket: 'datasets' },
    });
    expect(request.source.prefix).toBe('');
    expect(request.source.key).toBeUndefined();
  });

  it('detects an archive key and turns on path-style for a custom endpoint', () => {
    const request = parseRestoreRequest({
      ...minimal,
      source: {
        bucket: 'backups',
        key: 'db/2026-11-20.tar.gz',
        endpoint: 'http://127.0.0.1:9000',
      },
    });
    expect(request.source.format).toBe('tar');
    expect(request.source.pathStyle).toBe(true);
    expect(request.source.prefix).toBeUndefined();
  });

  it.each([
    [{ ...minimal, source: { bucket: 'Datasets' } }, 'source.bucket'],
    [{ ...minimal, source: { bucket: 'ab' } }, 'source.bucket'],
    [
      { ...minimal, source: { bucket: 'datasets', prefix: 'no-slash' } },
      'source.prefix',
    ],
    [
      {
        ...minimal,
        source: { bucket: 'datasets', prefix: 'a/', key: 'b.tar' },
      },
      'source.key',
    ],
    [{ ...minimal, source: { bucket: 'datasets', key: 'dir/' } }, 'source.key'],
    [
      { ...minimal, source: { bucket: 'datasets', format: 'tar' } },
      'source.format',
    ],
    [
      { ...minimal, source: { bucket: 'datasets', format: 'zip' } },
      'source.format',
    ],
    [
      { ...minimal, source: { bucket: 'datasets', endpoint: 'ftp://x' } },
      'source.endpoint',
    ],
    [
      {
        ...minimal,
        source: { bucket: 'datasets', endpoint: 'https://u:p@host' },
      },
      'source.endpoint',
    ],
    [
      { ...minimal, source: { bucket: 'datasets', asOf: 'yesterday' } },
      'source.asOf',
    ],

    [
      { ...minimal, source: { bucket: 'datasets', archive: { tier: 'Fast' } } },
      'source.archive.tier',
    ],
    [
      { ...minimal, source: { bucket: 'datasets', archive: { days: 0 } } },
      'source.archive.days',
    ],
    [
      { ...minimal, source: { bucket: 'datasets', include: [''] } },
      'source.include.0',
    ],
    [
      {
        ...minimal,
        source: { bucket: 'datasets', prefix: `${'x'.repeat(1024)}/` },
      },
      'source.prefix',
    ],
    [{ ...minimal, source: { bucket: 'datasets', bukket: 'x' } }, 'source'],
    [
      { ...minimal, target: { namespace: 'Team_A', pvc: 'data' } },
      'target.namespace',
    ],
    [
      { ...minimal, target: { namespace: 'team-a', pvc: '-data' } },
      'target.pvc',
    ],
    [
      {
        ...minimal,
        target: { namespace: 'team-a', pvc: 'data', size: '10GB' },
      },
      'target.size',
    ],
    [
      {
        ...minimal,
        target: { namespace: 'team-a', pvc: 'data', size: '-1Gi' },
      },
      'target.size',
    ],
    [
      {
        ...minimal,
        target: {
          namespace: 'team-a',
          pvc: 'data',
          mode: 'existing',
          size: '1Gi',
        },
      },
      'target.size',
    ],
    [
      {
        ...minimal,
        target: { namespace: 'team-a', pvc: 'data', accessModes: [] },
      },
      'target.accessModes',
    ],
    [
      {
        ...minimal,
        target: { namespace: 'team-a', pvc: 'data', conflict: 'merge' },
      },
      'target.conflict',
    ],
    [{ ...minimal, credentials: { type: 'secret' } }, 'credentials.secretName'],
    // a Secret key is [-._a-zA-Z0-9]+, at most 253 characters
    [
      {
        ...minimal,
        credentials: { type: 'secret', secretName: 'k', accessKeyIdKey: 'a/b' },
      },
      'credentials.accessKeyIdKey',
    ],
    [
      {
        ...minimal,
        credentials: {
          type: 'secret',
          secretName: 'k',
          secretAccessKeyKey: 'KEY\n',
        },
      },
      'credentials.secretAccessKeyKey',
    ],
    [
      {
        ...minimal,
        credentials: { type: 'secret', secretName: 'k', sessionTokenKey: '' },
      },
      'credentials.sessionTokenKey',
    ],
    [
      {
        ...minimal,
        credentials: {
          type: 'secret',
          secretName: 'k',
          sessionTokenKey: 'a'.repeat(254),
        },
      },
      'credentials.sessionTokenKey',
    ],
    [
      { ...minimal, credentials: { type: 'keys', accessKey: 'x' } },
      'credentials.type',
    ],
    [
      { ...minimal, credentials: { type: 'none', secretAccessKey: 'x' } },
      'credentials',
    ],
    [{ ...minimal, options: { parallelism: 0 } }, 'options.parallelism'],
    [{ ...minimal, options: { concurrency: 1000 } }, 'options.concurrency'],
    [{ ...minimal, options: { owner: { uid: -1 } } }, 'options.owner.uid'],
    [
      { ...minimal, options: { owner: { fileMode: '999' } } },
      'options.owner.fileMode',
    ],
    [{ ...minimal, options: { bandwidth: 'fast' } }, 'options.bandwidth'],
    [
      { ...minimal, options: { activeDeadlineSeconds: 5 } },
      'options.activeDeadlineSeconds',
    ],
    [
      {
        ...minimal,
        source: { bucket: 'b-1', key: 'a.tar' },
        options: { parallelism: 4 },
      },
      'options.parallelism',
    ],
    [{ ...minimal, name: 'x'.repeat(53) }, 'name'],
    [{ ...minimal, apiVersion: 'v2' }, 'apiVersion'],
    [{ source: minimal.source }, 'target'],
  ])('rejects %j naming %s', (input, path) => {
    const problems = problemsOf(input);
    expect(problems.map(p => p.path)).toContain(path);
    expect(problems.every(p => p.message.length > 0)).toBe(true);
  });

  it.each([
    [{ ...minimal, source: { bucket: 'my.bucket-1', prefix: '' } }],
    [
      {
        ...minimal,
        source: { bucket: 'datasets', key: 'ünïcode/ファイル name %.bin' },
      },
    ],
    [
      {
        ...minimal,
        source: { bucket: 'datasets', asOf: '2026-11-20T10:00:00Z' },
      },
    ],
    [
      {
        ...minimal,
        source: { bucket: 'datasets', asOf: '2026-11-20T10:00:00+02:00' },
      },
    ],
    [
      {
        ...minimal,
        source: {
          bucket: 'datasets',
          key: 'models/weights.bin',
          asOf: '2026-11-20T10:00:00Z',
        },
      },
    ],
    [
      {
        ...minimal,
        source: {
          bucket: 'datasets',
          key: 'backups/db.tar.gz',
          asOf: '2026-11-20T10:00:00Z',
        },
      },
    ],
    [
      {
        ...minimal,
        source: { bucket: 'datasets', archive: { tier: 'Bulk', days: 7 } },
      },
    ],
    [
      {
        ...minimal,
        source: {
          bucket: 'datasets',
          include: ['**/*.csv'],
          exclude: ['tmp/**'],
          stripPrefix: 'a/',
        },
      },
    ],
    [
      {
        ...minimal,
        target: {
          namespace: 'team-a',
          pvc: 'data.v2',
          size: '1.5Ti',
          storageClassName: 'fast',
        },
      },
    ],
    [
      {
        ...minimal,
        target: {
          namespace: 'team-a',
          pvc: 'data',
          mode: 'existing',
          conflict: 'skip-existing',
        },
      },
    ],
    [
      {
        ...minimal,
        credentials: {
          type: 'secret',
          secretName: 's3-creds',
          accessKeyIdKey: 'id.key_1-a',
          sessionTokenKey: 'TOKEN',
        },
      },
    ],
    [
      {
        ...minimal,
        credentials: {
          type: 'serviceAccount',
          serviceAccountName: 'irsa-reader',
        },
      },
    ],
    [
      {
        ...minimal,
        options: {
          parallelism: 8,
          owner: { uid: 1000, gid: 1000, fsGroup: 2000, fileMode: '0640' },
          bandwidth: '50Mi',
        },
      },
    ],
  ])('accepts %j', input => {
    expect(safeParseRestoreRequest(input)).toMatchObject({ ok: true });
  });

  it('reports every bad field at once in RestoreRequestError', () => {
    expect(() =>
      parseRestoreRequest({
        source: { bucket: 'X' },
        target: { namespace: 'A', pvc: 'b' },
      }),
    ).toThrow(RestoreRequestError);
    let error: RestoreRequestError | undefined;
    try {
      parseRestoreRequest({
        source: { bucket: 'X' },
        target: { namespace: 'A', pvc: 'b' },
      });
    } catch (e) {
      error = e as RestoreRequestError;
    }
    expect(error?.problems.map(p => p.path).sort()).toEqual([
      'source.bucket',
      'target.namespace',
    ]);
    expect(error?.message).toMatch(/^invalid restore request: /);
    expect(error?.message).toContain('source.bucket: "X"');
  });

  it('says what is allowed for an enum', () => {
    const [problem] = problemsOf({
      ...minimal,
      target: { ...minimal.target, conflict: 'merge' },
    });
    expect(problem.message).toBe(
      'must be one of "fail", "skip-existing", "overwrite" (got "merge")',
    );
  });
});

describe('credentials', () => {
  it('names the node identity explicitly; none stays the default', () => {
    expect(
      parseRestoreRequest({ ...minimal, credentials: { type: 'nodeIdentity' } })
        .credentials,
    ).toEqual({ type: 'nodeIdentity' });
    expect(
      parseRestoreRequest({ ...minimal, credentials: { type: 'anonymous' } })
        .credentials,
    ).toEqual({ type: 'anonymous' });
    expect(parseRestoreRequest(minimal).credentials).toEqual({ type: 'none' });
    expect(
      problemsOf({
        ...minimal,
        credentials: { type: 'nodeIdentity', secretName: 'x' },
      }).map(p => p.path),
    ).toEqual(['credentials']);
  });
});

describe('endpoints', () => {
  it.each([
    'https://u:p@host',
    'https://u@host:9000',
    'https://:p@host',
    'HTTPS://u:p@host',
    'https://u%40x@host',
    'https://u\t@host',
    'https://host?x=1',
    'https://host#f',
  ])(
    'refuses the endpoint %j (credentials in userinfo, query, fragment)',
    endpoint => {
      expect(
        problemsOf({ ...minimal, source: { ...minimal.source, endpoint } }).map(
          p => p.path,
        ),
      ).toEqual(['source.endpoint']);
    },
  );
});

describe('restoreNameOf', () => {
  it('is deterministic, readable and a valid Job name', () => {
    const a = restoreNameOf(parseRestoreRequest(minimal));
    const b = restoreNameOf(
      parseRestoreRequest(JSON.parse(JSON.stringify(minimal))),
    );
    expect(a).toBe(b);
    expect(a).toMatch(/^restore-data-[0-9a-f]{8}$/);
  });

  it('is what it was when options.concurrency defaulted to 16 in the schema', () => {
    const unset = parseRestoreRequest(minimal);
    expect(unset.options.concurrency).toBeUndefined();
    const explicit = parseRestoreRequest({
      ...minimal,
      options: { concurrency: DEFAULT_CONCURRENCY },
    });
    expect(restoreNameOf(unset)).toBe(restoreNameOf(explicit));
    // the name a request without options.concurrency got before the option became optional
    expect(
      restoreNameOf({
        ...unset,
        options: { ...unset.options, concurrency: DEFAULT_CONCURRENCY },
      }),
    ).toBe(restoreNameOf(unset));
  });

  it('differs when the request differs, and keeps within 52 characters', () => {
    const a = restoreNameOf(parseRestoreRequest(minimal));
    const b = restoreNameOf(
      parseRestoreRequest({
        ...minimal,
        source: { bucket: 'datasets', prefix: 'other/' },
      }),
    );
    expect(a).not.toBe(b);
    const long = restoreNameOf(
      parseRestoreRequest({
        ...minimal,
        target: { namespace: 'a', pvc: `${'p'.repeat(200)}.x` },
      }),
    );
    expect(long.length).toBeLessThanOrEqual(52);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('uses the given name', () => {
    expect(
      restoreNameOf(parseRestoreRequest({ ...minimal, name: 'my-restore' })),
    ).toBe('my-restore');
  });
});
