import { RestoreStatus } from '@kube-restore/common';
import { holdPhase } from './watch';

const status = (over: Partial<RestoreStatus>): RestoreStatus => ({
  name: 'r',
  namespace: 'ns',
  phase: 'Pending',
  pvc: 'data',
  source: 's3://b/p/',
  attempts: 1,
  failedAttempts: 0,
  pods: ['r-1'],
  ...over,
});

const progress = {
  objectsDone: 3,
  objectsSkipped: 0,
  bytesDone: 300,
  bytesPerSecond: 100,
};

describe('holdPhase', () => {
  it('keeps the phase and progress of the same pod when its log could not be read (Restoring -> Planning)', () => {
    const before = status({ phase: 'Restoring', progress });
    const after = status({ phase: 'Planning' });
    expect(holdPhase(before, after)).toEqual({
      ...after,
      phase: 'Restoring',
      progress,
    });
  });

  it('takes newer progress of the held phase when there is some', () => {
    const newer = { ...progress, bytesDone: 400 };
    expect(
      holdPhase(
        status({ phase: 'Verifying', progress }),
        status({ phase: 'Restoring', progress: newer }),
      ),
    ).toMatchObject({ phase: 'Verifying', progress: newer });
  });

  it('lets a forward step, a terminal phase and a new attempt through unchanged', () => {
    const restoring = status({ phase: 'Restoring', progress });
    const forward = status({ phase: 'Verifying' });
    expect(holdPhase(restoring, forward)).toBe(forward);
    const failed = status({ phase: 'Failed' });
    expect(holdPhase(restoring, failed)).toBe(failed);
    const retry = status({
      phase: 'Pending',
      pods: ['r-1', 'r-2'],
      attempts: 2,
    });
    expect(holdPhase(restoring, retry)).toBe(retry);
    const first = status({ phase: 'Planning' });
    expect(holdPhase(undefined, first)).toBe(first);
  });
});
