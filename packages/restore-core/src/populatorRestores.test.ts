import { recordedPopulatorRestores } from './populatorRestores';

const PRIME = 'prime-0f3a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';

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
          restore: 'prime-1',
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
        name: 'prime-1',
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
});
