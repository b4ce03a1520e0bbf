/**
 * Progress events on the user's PVC: one at each quarter of a restore (25, 50, 75%), per attempt, so
 * `kubectl describe pvc` tells how far a declarative restore has got without flooding the events.
 */
import { formatBytes, RestoreProgress } from '@kube-restore/common';

export const REASON_PROGRESS = 'RestoreProgress';

/** The quarters an event is recorded at, in percent. */
export const PROGRESS_STEPS = [25, 50, 75] as const;

/** How far a restore is, 0..1: by bytes when their total is known, else by objects. */
function fractionDone(progress: RestoreProgress): number | undefined {
  if (progress.bytesTotal) return progress.bytesDone / progress.bytesTotal;
  if (progress.objectsTotal)
    return progress.objectsDone / progress.objectsTotal;
  return undefined;
}

/**
 * The highest step the restore has passed, or undefined before the first one. Nothing while the
 * listing is still going: its totals are only what was listed so far, so a fraction would overstate.
 */
export function progressStep(
  progress: RestoreProgress | undefined,
): (typeof PROGRESS_STEPS)[number] | undefined {
  if (!progress || progress.listing) return undefined;
  const fraction = fractionDone(progress);
  if (fraction === undefined) return undefined;
  let passed: (typeof PROGRESS_STEPS)[number] | undefined;
  for (const step of PROGRESS_STEPS) if (fraction * 100 >= step) passed = step;
  return passed;
}

/** `50% restored: 1200 of 2400 objects, 1.2 GiB of 2.4 GiB`. */
export function progressMessage(
  step: number,
  progress: RestoreProgress,
): string {
  const objects =
    progress.objectsTotal !== undefined
      ? `${progress.objectsDone} of ${progress.objectsTotal} objects`
      : `${progress.objectsDone} objects`;
  const bytes =
    progress.bytesTotal !== undefined
      ? `${formatBytes(progress.bytesDone)} of ${formatBytes(progress.bytesTotal)}`
      : formatBytes(progress.bytesDone);
  return `${step}% restored: ${objects}, ${bytes}`;
}
