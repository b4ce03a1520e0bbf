import { RestoreRequestError } from './fieldProblems';
import { requestFromRestoreSource } from './restoreSource';

describe('requestFromRestoreSource', () => {
  const target = { namespace: 'team-a', pvc: 'prime-1234', name: 'prime-1234' };

  it('makes the request that fills the prime PVC: mode existing, defaults applied', () => {
    const request = requestFromRestoreSource(
      {
        source: { bucket: 'datasets', prefix: 'team-a/' },
        credentials: { type: 'secret', secretName: 's3-keys' },
      },
      target,
    );
    expect(request.name).toBe('prime-1234');
    expect(request.target).toMatchObject({
      namespace: 'team-a',
      pvc: 'prime-1234',
      mode: 'existing',
    });
    expect(request.source).toMatchObject({
      bucket: 'datasets',
      prefix: 'team-a/',
      format: 'auto',
    });
    expect(request.credentials).toMatchObject({ secretName: 's3-keys' });
    expect(request.options.backoffLimit).toBe(3);
  });

  it('names every bad field under spec., and refuses a target in the spec', () => {
    const attempt = () =>
      requestFromRestoreSource(
        {
          source: { bucket: 'No_Such', prefix: 'x' },
          target: { pvc: 'other' },
        },
        target,
      );
    expect(attempt).toThrow(RestoreRequestError);
    const paths = (() => {
      try {
        attempt();
      } catch (e) {
        return (e as RestoreRequestError).problems.map(p => p.path);
      }
      return [];
    })();
    expect(paths).toEqual(
      expect.arrayContaining(['spec', 'spec.source.bucket']),
    );
  });

  it('refuses a spec that is not there', () => {
    expect(() => requestFromRestoreSource(undefined, target)).toThrow(
      /spec\.source: is required/,
    );
  });
});
