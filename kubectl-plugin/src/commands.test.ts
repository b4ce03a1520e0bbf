/**
 * create through `main`, as kubectl runs it, with core's cluster calls replaced: golden output, exit
 * codes, and proof that bad input never reaches the API server. The other commands: observe.test.ts.
 */
import * as core from '@kube-restore/core';
import { CLUSTER_CALLS } from './__testUtils__/fakeCore';
import { failed, restoring, succeeded } from './__testUtils__/fixtures';
import { expectGolden } from './__testUtils__/golden';
import { run, statuses } from './__testUtils__/run';

jest.mock('@kube-restore/core', () =>
  require('./__testUtils__/fakeCore').fakeCore(),
);

const mocked = core as jest.Mocked<typeof core>;

beforeEach(() => jest.clearAllMocks());

describe('create', () => {
  const base = [
    'create',
    '--from',
    's3://backups/team-a/data/',
    '--to',
    'pvc/data',
    '--size',
    '10Gi',
  ];

  it('prints exactly the manifests with --dry-run=client -o yaml, and creates nothing', async () => {
    const r = await run([
      ...base,
      '--dry-run=client',
      '-o',
      'yaml',
      '--image',
      'example.com/kube-restore/restore-job:test',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expectGolden('create-dry-run-client.yaml', r.stdout);
    for (const call of CLUSTER_CALLS)
      expect(mocked[call]).not.toHaveBeenCalled();
  });

  it('redacts the keys of --credentials-from-env in printed manifests', async () => {
    const r = await run(
      [...base, '--dry-run=client', '-o', 'json', '--credentials-from-env'],
      {
        AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'very-secret',
      },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('very-secret');
    expect(r.stdout).not.toContain('AKIAEXAMPLE');
    const list = JSON.parse(r.stdout);
    expect(list.kind).toBe('List');
    expect(list.items.map((i: { kind: string }) => i.kind)).toEqual([
      'PersistentVolumeClaim',
      'Job',
      'Secret',
    ]);
  });

  // That core puts the keys in a Secret owned by the Job: core's restores.test.ts and test/e2e core.test.ts.
  it('hands the keys of --credentials-from-env and the requester to core, and prints what core created', async () => {
    mocked.createRestore.mockImplementation(async (_c, request, options) => {
      const manifests = jest
        .requireActual('@kube-restore/core')
        .buildRestoreManifests(request, options);
      return {
        manifests,
        created: true,
        status: { ...restoring, name: manifests.name },
      };
    });
    const r = await run([...base, '--credentials-from-env'], {
      AWS_ACCESS_KEY_ID: 'AKIA1',
      AWS_SECRET_ACCESS_KEY: 's3cr3t',
      AWS_SESSION_TOKEN: 'tok',
    });
    expect(r.code).toBe(0);
    const [, request, options] = mocked.createRestore.mock.calls[0];
    expect(options).toMatchObject({
      credentials: {
        accessKeyId: 'AKIA1',
        secretAccessKey: 's3cr3t',
        sessionToken: 'tok',
      },
      requester: 'alice',
      // kubectl acts as the user: without keys, core may list the bounds with their identity
      ambientCredentials: true,
    });
    // no --request-timeout: core's own S3 timeouts (DEFAULT_S3_TIMEOUTS)
    expect(options?.timeouts).toBeUndefined();
    expect(request.target).toMatchObject({
      namespace: 'team-a',
      pvc: 'data',
      size: '10Gi',
    });
    expectGolden('create.txt', r.stdout);
  });

  it("bounds each of core's S3 requests by --request-timeout", async () => {
    mocked.createRestore.mockImplementation(async (_c, request, options) => {
      const manifests = jest
        .requireActual('@kube-restore/core')
        .buildRestoreManifests(request, options);
      return {
        manifests,
        created: true,
        status: { ...restoring, name: manifests.name },
      };
    });
    const r = await run([...base, '--request-timeout', '5s']);
    expect(r.code).toBe(0);
    expect(mocked.createRestore.mock.calls[0][2]).toMatchObject({
      ambientCredentials: true,
      timeouts: { connectionMs: 5000, requestMs: 5000 },
    });
  });

  it('hands over $AWS_CREDENTIAL_EXPIRATION with a session token, and refuses one that is not a time', async () => {
    mocked.createRestore.mockImplementation(async (_c, request, options) => {
      const manifests = jest
        .requireActual('@kube-restore/core')
        .buildRestoreManifests(request, options);
      return {
        manifests,
        created: true,
        status: { ...restoring, name: manifests.name },
      };
    });
    const keys = {
      AWS_ACCESS_KEY_ID: 'AKIA1',
      AWS_SECRET_ACCESS_KEY: 's3cr3t',
      AWS_SESSION_TOKEN: 'tok',
    };
    const ok = await run([...base, '--credentials-from-env'], {
      ...keys,
      AWS_CREDENTIAL_EXPIRATION: '2026-12-06T14:00:00+00:00',
    });
    expect(ok.code).toBe(0);
    expect(mocked.createRestore.mock.calls[0][2]).toMatchObject({
      credentials: { expiresAt: '2026-12-06T14:00:00.000Z' },
    });
    mocked.createRestore.mockClear();
    const bad = await run([...base, '--credentials-from-env'], {
      ...keys,
      AWS_CREDENTIAL_EXPIRATION: 'in an hour',
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      '--credentials-from-env: $AWS_CREDENTIAL_EXPIRATION is "in an hour": it must be an ISO 8601 time with a zone',
    );
    expect(mocked.createRestore).not.toHaveBeenCalled();
  });

  it('sizes the source for --size auto and passes the recommended size', async () => {
    mocked.sizeSource.mockResolvedValue({
      objects: 3,
      bytes: 3 * 2 ** 30,
      recommendedSize: '4Gi',
      estimated: false,
    } as never);
    const r = await run([
      'create',
      '--from',
      's3://backups/team-a/data/',
      '--to',
      'pvc/data',
      '--size',
      'auto',
      '--dry-run=client',
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).items[0].spec.resources.requests.storage).toBe(
      '4Gi',
    );
    expect(r.stderr).toBe(
      'sized team-a/data/: 3 objects, 3.00 GiB; new PVC 4Gi\n',
    );
  });

  it('gives a sharded restore its shard bounds from the listing that sizes it', async () => {
    mocked.sizeSource.mockImplementation(async (_source, options) => {
      for (let i = 0; i < 300; i++)
        options?.sampler?.add(
          `team-a/data/${String(i).padStart(3, '0')}`,
          1024,
        );
      return {
        objects: 300,
        bytes: 300 * 1024,
        recommendedSize: '1Gi',
        estimated: false,
      } as never;
    });
    const r = await run([
      'create',
      '--from',
      's3://backups/team-a/data/',
      '--to',
      'pvc/data',
      '--size',
      'auto',
      '--parallelism',
      '3',
      '--dry-run=client',
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    expect(mocked.sizeSource).toHaveBeenCalledTimes(1);
    const job = JSON.parse(r.stdout).items.find(
      (i: { kind: string }) => i.kind === 'Job',
    );
    const carried = JSON.parse(
      job.metadata.annotations['kube-restore.io/request'],
    );
    expect(carried.shards.bounds).toEqual([
      'team-a/data/099',
      'team-a/data/199',
    ]);
  });

  it('waits with --wait and ends with the code and message of a failed restore', async () => {
    mocked.createRestore.mockResolvedValue({
      manifests: { name: failed.name } as never,
      created: true,
      status: failed,
    });
    mocked.watchRestore.mockImplementation(
      statuses({ ...failed, phase: 'Restoring', error: undefined }, failed),
    );
    const r = await run([...base, '--wait']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'error: restore restore-logs-00aa11bb failed: ACCESS_DENIED: the credentials may not read s3://backups/team-b/logs/ (AccessDenied)\n',
    );
  });

  it('waits with --wait to Succeeded, printing plain progress lines off a terminal', async () => {
    mocked.createRestore.mockResolvedValue({
      manifests: { name: succeeded.name } as never,
      created: true,
      status: succeeded,
    });
    mocked.watchRestore.mockImplementation(
      statuses(
        { ...succeeded, phase: 'Pending', result: undefined },
        { ...restoring, name: succeeded.name },
        succeeded,
      ),
    );
    const r = await run([...base, '--wait', '-o', 'name']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('restore/restore-db-9f8e7d6c\n');
    expectGolden('wait-progress-lines.txt', r.stderr);
  });

  it.each([
    [
      ['--from', 's3://Bad_Bucket/x/'],
      'invalid --from: invalid source URL "s3://Bad_Bucket/x/"',
    ],
    [['--from', 'ftp://host/b/x/'], 'unsupported scheme "ftp:"'],
    [['--size', '10XB'], 'invalid --size: invalid quantity "10XB"'],
    [
      ['--to', 'pvc/Data_1'],
      'invalid --to: "Data_1" must consist of lower case letters',
    ],
    [['--uid', 'abc'], 'invalid --uid "abc": expected a whole number'],
    [['--uid', '0'], 'invalid --uid: must be at least 1'],
    [['--ttl', 'soon'], 'invalid --ttl "soon"'],
    [
      ['--archive-tier', 'Fast'],
      'invalid --archive-tier: must be one of "Expedited", "Standard", "Bulk", "fail" (got "Fast")',
    ],
    [['--as-of', 'yesterday-ish'], 'invalid --as-of "yesterday-ish"'],
    [['--dry-run=maybe'], 'invalid --dry-run "maybe"'],
    [['-o', 'wide'], 'unsupported output format "wide"'],
    [
      ['--secret', 's3', '--credentials-from-env'],
      'give one of --secret, --credentials-from-env, not several',
    ],
    [
      ['--credentials-from-env'],
      '--credentials-from-env: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set',
    ],
    [['--existing-pvc', '--size', '5Gi'], 'an existing PVC is never resized'],
    [['--bandwidth', 'fast'], 'invalid --bandwidth: invalid quantity "fast"'],
    [['--no-such-flag'], 'Unknown argument'],
  ])(
    'refuses %j with exit 2 before anything is created',
    async (extra, message) => {
      const args = [
        ...base.filter(
          (_, i) => !(extra.includes(base[i]) || extra.includes(base[i - 1])),
        ),
        ...extra,
      ];
      const r = await run(args);
      expect(r.stderr).toContain(message);
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.code).toBe(2);
      for (const call of CLUSTER_CALLS)
        expect(mocked[call]).not.toHaveBeenCalled();
    },
  );

  it('maps core errors to exit codes: forbidden 3, conflict 5, not found 4', async () => {
    for (const [kind, code] of [
      ['Forbidden', 3],
      ['Conflict', 5],
      ['NotFound', 4],
      ['Unavailable', 7],
      ['Rejected', 3],
    ] as const) {
      mocked.createRestore.mockRejectedValueOnce(
        new core.RestoreError(kind, `${kind} happened`),
      );
      const r = await run(base);
      expect(r.code).toBe(code);
      expect(r.stderr).toBe(`error: ${kind} happened\n`);
    }
  });

  it('prints the stack only with -v', async () => {
    mocked.createRestore.mockRejectedValue(
      new core.RestoreError('Failed', 'boom'),
    );
    expect((await run(base)).stderr).toBe('error: boom\n');
    const verbose = await run([...base, '-v=6']);
    expect(verbose.stderr).toMatch(/^error: boom\nRestoreError: boom\n\s+at /);
  });
});
