import { recordedPopulatorRestores } from './populatorRestores';

const PRIME = 'prime-0f3a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const PRIME_2 = 'prime-1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9';

const source = (
  pvcs: object[],
  spec: object = {
    source: { bucket: 'datasets', prefix: 'set/' },
  },
) => ({
  metadata: { name: 'seed', namespace: 'team-a' },
  spec,
  status: { pvcs: pvcs as never },
});

describe('recordedPopulatorRestores', () => {
  it("makes a finished restore of each Succeeded or Failed entry of a RestoreSource's status", () => {
    const rows = recordedPopulatorRestores([
      source([
        {
          pvc: 'data',
          state: 'Succeeded',
          restore: PRIME,
          lastTransitionTime: '2026-12-01T10:00:00Z',
        },
        {
          pvc: 'small',
          state: 'Failed',
          code: 'SOURCE_TOO_BIG',
          message: 'the source needs 4 MiB',
          attempts: 2,
          restore: PRIME_2,
          lastTransitionTime: '2026-12-01T11:00:00Z',
        },
      ]),
    ]);
    expect(rows).toEqual([
      {
        name: PRIME,
        namespace: 'team-a',
        phase: 'Succeeded',
        pvc: PRIME,
        source: 's3://datasets/set/',
        createdAt: '2026-12-01T10:00:00Z',
        finishedAt: '2026-12-01T10:00:00Z',
        attempts: 0,
        failedAttempts: 0,
        pods: [],
        requester: 'populator for team-a/data',
        populator: { pvc: 'data', restoreSource: 'seed' },
      },
      expect.objectContaining({
        name: PRIME_2,
        phase: 'Failed',
        attempts: 2,
        failedAttempts: 2,
        error: { code: 'SOURCE_TOO_BIG', message: 'the source needs 4 MiB' },
        populator: { pvc: 'small', restoreSource: 'seed' },
      }),
    ]);
  });

  it('leaves out what is not finished, entries without a restore name, and sources without status', () => {
    expect(
      recordedPopulatorRestores([
        source([
          {
            pvc: 'a',
            state: 'Waiting',
            restore: 'prime-a',
            lastTransitionTime: 'x',
          },
          {
            pvc: 'b',
            state: 'Restoring',
            restore: 'prime-b',
            lastTransitionTime: 'x',
          },
          {
            pvc: 'c',
            state: 'Binding',
            restore: 'prime-c',
            lastTransitionTime: 'x',
          },
          // written before every entry named its restore
          { pvc: 'd', state: 'Succeeded', lastTransitionTime: 'x' },
        ]),
        { metadata: { name: 'new', namespace: 'team-a' }, spec: {} },
      ]),
    ).toEqual([]);
  });

  it('names the endpoint of a source that has one, and says so of a spec without a source', () => {
    const done = {
      pvc: 'data',
      state: 'Succeeded',
      restore: PRIME,
      lastTransitionTime: 'x',
    };
    expect(
      recordedPopulatorRestores([
        source([done], {
          source: {
            endpoint: 'http://minio:9000',
            bucket: 'datasets',
            key: 'a.tar',
          },
        }),
      ])[0].source,
    ).toBe('http://minio:9000/datasets/a.tar');
    expect(recordedPopulatorRestores([source([done], {})])[0].source).toBe(
      '<invalid RestoreSource>',
    );
  });

  it('describes a spec only once the RestoreSource schema accepts it', () => {
    const done = {
      pvc: 'data',
      state: 'Succeeded',
      restore: PRIME,
      lastTransitionTime: 'x',
    };
    const described = (spec: object) =>
      recordedPopulatorRestores([source([done], spec)])[0].source;
    // a bucket or prefix with controls, a bucket that is no bucket name, a field the schema lacks
    expect(
      described({
        source: { bucket: 'datasets', prefix: 'p/\x1b]52;c;eA==\x07' },
      }),
    ).toBe('<invalid RestoreSource>');
    expect(described({ source: { bucket: '\x1b[2J' } })).toBe(
      '<invalid RestoreSource>',
    );
    expect(described({ source: { bucket: 7 } })).toBe(
      '<invalid RestoreSource>',
    );
    expect(described({ source: { bucket: 'datasets' }, extra: 'x' })).toBe(
      '<invalid RestoreSource>',
    );
    expect(described({ source: { bucket: 'datasets', prefix: 'set/' } })).toBe(
      's3://datasets/set/',
    );
  });

  it('leaves out an entry whose restore is no name the populator gives (a forged status)', () => {
    const entry = (restore: string) => ({
      pvc: 'data',
      state: 'Failed',
      code: 'X',
      message: 'forged',
      restore,
      lastTransitionTime: 'x',
    });
    expect(
      recordedPopulatorRestores([
        source([
          entry('restore-db-9f8e7d6c'),
          entry('prime-1'),
          entry(`${PRIME}\x1b[2J`),
          entry(PRIME.toUpperCase()),
        ]),
      ]),
    ).toEqual([]);
    expect(
      recordedPopulatorRestores([source([entry(PRIME)])]).map(r => r.name),
    ).toEqual([PRIME]);
  });
});
