import { ApiException } from '@kubernetes/client-node';
import { RestoreError, translateApiError } from './errors';

const api = (code: number, body: unknown) =>
  new ApiException(code, 'HTTP error', body, {});
const ctx = {
  verb: 'create',
  resource: 'jobs.batch',
  namespace: 'team-b',
  name: 'r1',
};

describe('translateApiError', () => {
  it('names verb, resource, namespace and the RBAC file for a 403', () => {
    const error = translateApiError(
      api(403, { message: 'jobs.batch is forbidden' }),
      ctx,
    );
    expect(error).toBeInstanceOf(RestoreError);
    expect(error.kind).toBe('Forbidden');
    expect(error.message).toBe(
      'forbidden: this identity may not create jobs.batch in namespace team-b; a namespace admin lets the kube-restore operator in with `kubectl apply -k deploy/rbac/opt-in -n NAMESPACE`; people who can `edit` a namespace get restore rights from deploy/rbac/aggregate-to-edit.yaml',
    );
  });

  it.each([
    [401, {}, 'Unauthorized', /rejected the credentials/],
    [404, {}, 'NotFound', /^jobs.batch "r1" not found in namespace team-b$/],
    [
      409,
      JSON.stringify({ message: 'jobs.batch "r1" already exists' }),
      'Conflict',
      /already exists/,
    ],
    [
      422,
      { message: 'spec.template: Invalid value' },
      'Invalid',
      /refused to create .*Invalid value/,
    ],
    [403 + 0, { message: 'x' }, 'Forbidden', /forbidden/],
    [
      400,
      {
        message:
          'pods "x" is forbidden: violates PodSecurity "restricted:latest"',
      },
      'Rejected',
      /violates PodSecurity/,
    ],
    [503, {}, 'Unavailable', /try again/],
    [
      403,
      {
        message:
          'pods "x" is forbidden: exceeded quota: compute, requested: cpu=1',
      },
      'Rejected',
      /refused to create .*exceeded quota/,
    ],
    [
      403,
      {
        message:
          'jobs.batch "r1" is forbidden: ValidatingAdmissionPolicy \'kube-restore-operator-jobs\' denied request',
      },
      'Rejected',
      /denied request/,
    ],
  ])('maps HTTP %d to %s', (code, body, kind, message) => {
    const error = translateApiError(api(code, body), ctx);
    expect(error.kind).toBe(kind);
    expect(error.message).toMatch(message);
    expect(error.statusCode).toBe(code);
  });

  it('maps connection failures to Unavailable', () => {
    const error = translateApiError(
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), {
        code: 'ECONNREFUSED',
      }),
      ctx,
    );
    expect(error.kind).toBe('Unavailable');
    expect(error.message).toBe(
      'cannot reach the API server (ECONNREFUSED) to create jobs.batch "r1" in namespace team-b',
    );
  });

  it('passes RestoreErrors through', () => {
    const original = new RestoreError('Conflict', 'x');
    expect(translateApiError(original, ctx)).toBe(original);
  });
});
