import { RestoreError } from '@kube-restore/core';
import { restoreErrorCode } from './reconcile';

describe('restoreErrorCode', () => {
  it('names a refused or failed create by its kind, as the PVC event and status show it', () => {
    expect(restoreErrorCode(new RestoreError('Forbidden', 'no'))).toBe(
      'FORBIDDEN',
    );
    expect(restoreErrorCode(new RestoreError('NotFound', 'gone'))).toBe(
      'NOT_FOUND',
    );
    expect(restoreErrorCode(new RestoreError('Rejected', 'policy'))).toBe(
      'REJECTED',
    );
  });
});
