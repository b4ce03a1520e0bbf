/** How restores read on screen: phases, progress, durations, people, errors. Pure, so tested without React. */
import { ResponseError } from '@backstage/errors';
import { formatBytes } from '@kube-restore/common';
import type { Restore, RestoreRecordPhase } from '../api';

/** Phases after which nothing changes any more. */
export const FINAL_PHASES: readonly RestoreRecordPhase[] = [
  'Succeeded',
  'Failed',
  'Rejected',
];

/** True while a restore may still change: not in a final phase, not deleted. */
export function isActive(restore: Restore): boolean {
  return !FINAL_PHASES.includes(restore.phase) && !restore.deletedAt;
}

/** The phase as people read it; the enum value except for the one made of two words. */
export function phaseLabel(phase: RestoreRecordPhase): string {
  return phase === 'PendingApproval' ? 'Pending approval' : phase;
}

/** `1h 02m`, `3m 05s`, `42s`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (hours > 0) return `${hours}h ${pad(minutes)}m`;
  if (minutes > 0) return `${minutes}m ${pad(seconds)}s`;
  return `${seconds}s`;
}

/** When the restore started working: the Job's creation, else the request. */
export function startOf(restore: Restore): string {
  return restore.status?.startedAt ?? restore.jobCreatedAt ?? restore.createdAt;
}

/** How long it ran (finished) or has been running (active, measured to `now`); undefined before it starts. */
export function durationOf(restore: Restore, now: number): number | undefined {
  if (restore.durationMs !== undefined) return restore.durationMs;
  if (restore.status?.durationSeconds !== undefined)
    return restore.status.durationSeconds * 1000;
  if (!restore.jobCreatedAt) return undefined;
  const start = Date.parse(startOf(restore));
  const end = restore.finishedAt ? Date.parse(restore.finishedAt) : now;
  return Number.isFinite(start) && end >= start ? end - start : undefined;
}

export interface ProgressView {
  /** 0-100 when the total is known; undefined for an indeterminate bar. */
  percent?: number;
  /** `1.00 GiB of 4.00 GiB, 120 of 300 objects, 12.0 MiB/s, 2m 10s left` */
  text: string;
}

/** What the progress bar shows for a restore. */
export function progressOf(restore: Restore): ProgressView {
  const progress = restore.status?.progress;
  const result = restore.status?.result;
  if (restore.phase === 'Succeeded') {
    const bytes = result?.bytes ?? restore.bytes ?? progress?.bytesDone;
    const objects = result?.objects ?? progress?.objectsDone;
    const parts = [
      bytes !== undefined ? formatBytes(bytes) : undefined,
      objects !== undefined ? `${objects} objects` : undefined,
    ].filter(Boolean);
    return { percent: 100, text: parts.join(', ') || 'done' };
  }
  if (!progress) {
    if (restore.phase === 'PendingApproval')
      return { percent: 0, text: 'waiting for approval' };
    if (restore.phase === 'Failed' || restore.phase === 'Rejected')
      return { percent: 0, text: 'no data restored' };
    return { text: restore.phase === 'Pending' ? 'starting' : 'preparing' };
  }
  const parts: string[] = [];
  parts.push(
    progress.bytesTotal !== undefined
      ? `${formatBytes(progress.bytesDone)} of ${formatBytes(progress.bytesTotal)}`
      : formatBytes(progress.bytesDone),
  );
  parts.push(
    progress.objectsTotal !== undefined
      ? `${progress.objectsDone} of ${progress.objectsTotal} objects`
      : `${progress.objectsDone} objects`,
  );
  if (progress.listing && isActive(restore)) parts.push('still listing');
  if (progress.thaw)
    parts.push(
      `thawing: ${progress.thaw.ready} ready, ${progress.thaw.waiting} waiting`,
    );
  if (progress.bytesPerSecond > 0 && isActive(restore))
    parts.push(`${formatBytes(progress.bytesPerSecond)}/s`);
  if (progress.etaSeconds !== undefined && isActive(restore))
    parts.push(`${formatDuration(progress.etaSeconds * 1000)} left`);
  // while the listing goes on the totals are what was listed so far: no percentage yet
  const percent =
    !progress.listing && progress.bytesTotal && progress.bytesTotal > 0
      ? Math.min(100, (progress.bytesDone / progress.bytesTotal) * 100)
      : undefined;
  return { percent, text: parts.join(', ') };
}

/** `alice` for `user:default/alice`; the ref itself when it is not one. */
export function shortRef(ref: string): string {
  const match = /^[^:]+:(?:[^/]+\/)?(.+)$/.exec(ref);
  return match ? match[1] : ref;
}

/** The message to show for an error: the backend's own message when it sent one. */
export function errorMessage(error: unknown): string {
  if (error instanceof ResponseError) {
    const cause = error.body?.error?.message;
    return cause ? cause : error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The HTTP status of a backend error, if it was one. */
export function errorStatus(error: unknown): number | undefined {
  return error instanceof ResponseError ? error.statusCode : undefined;
}
