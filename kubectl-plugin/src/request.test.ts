import { parseRequestFlags, RequestFlags } from './request';

const base = { from: 's3://datasets/team-a/', to: 'pvc/data', size: '1Gi' };
const parse = (flags: Record<string, unknown>) =>
  parseRequestFlags({ ...base, ...flags } as RequestFlags, 'team-a');

describe('the tuning flags', () => {
  it('land in the request options', () => {
    const request = parse({
      partSize: '16Mi',
      partConcurrency: '8',
      rangedMinSize: '32Mi',
      retryAttempts: '12',
      throttleBudget: '30m',
      archiveTier: 'Expedited',
      archivePoll: '30s',
    });
    expect(request.options.parts).toEqual({
      size: '16Mi',
      concurrency: 8,
      minObjectSize: '32Mi',
    });
    expect(request.options.retry).toEqual({
      attempts: 12,
      throttleBudgetSeconds: 1800,
    });
    expect(request.source.archive).toMatchObject({
      tier: 'Expedited',
      pollSeconds: 30,
    });
  });

  it('leave the request as it was when not given', () => {
    const request = parse({});
    expect(request.options).not.toHaveProperty('parts');
    expect(request.options).not.toHaveProperty('retry');
    expect(request.source.archive).not.toHaveProperty('pollSeconds');
  });

  it('are refused with the flag named', () => {
    expect(() => parse({ partSize: '1Mi' })).toThrow(/--part-size/);
    expect(() => parse({ partConcurrency: 'many' })).toThrow(
      /--part-concurrency/,
    );
    expect(() => parse({ retryAttempts: '0' })).toThrow(/--retry-attempts/);
    expect(() => parse({ throttleBudget: 'soon' })).toThrow(
      /--throttle-budget/,
    );
  });
});
