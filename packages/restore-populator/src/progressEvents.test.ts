import type { RestoreProgress } from '@kube-restore/common';
import { progressMessage, progressStep } from './progressEvents';

const progress = (p: Partial<RestoreProgress>): RestoreProgress => ({
  objectsDone: 0,
  objectsSkipped: 0,
  bytesDone: 0,
  bytesPerSecond: 0,
  ...p,
});

describe('progressStep', () => {
  it('is the highest quarter passed, by bytes', () => {
    expect(progressStep(progress({ bytesDone: 24, bytesTotal: 100 }))).toBe(
      undefined,
    );
    expect(progressStep(progress({ bytesDone: 25, bytesTotal: 100 }))).toBe(25);
    expect(progressStep(progress({ bytesDone: 74, bytesTotal: 100 }))).toBe(50);
    expect(progressStep(progress({ bytesDone: 100, bytesTotal: 100 }))).toBe(
      75,
    );
  });

  it('counts objects when no bytes are to be written', () => {
    expect(
      progressStep(
        progress({ objectsDone: 3, objectsTotal: 4, bytesTotal: 0 }),
      ),
    ).toBe(75);
  });

  it('says nothing while the listing goes on, or without totals', () => {
    expect(
      progressStep(progress({ bytesDone: 90, bytesTotal: 100, listing: true })),
    ).toBeUndefined();
    expect(progressStep(progress({ objectsDone: 5 }))).toBeUndefined();
    expect(progressStep(undefined)).toBeUndefined();
  });
});

describe('progressMessage', () => {
  it('names objects and bytes done against their totals', () => {
    expect(
      progressMessage(
        50,
        progress({
          objectsDone: 1,
          objectsTotal: 2,
          bytesDone: 2 << 20,
          bytesTotal: 4 << 20,
        }),
      ),
    ).toBe('50% restored: 1 of 2 objects, 2.00 MiB of 4.00 MiB');
  });
});
