/**
 * The status of a restore as every reader shows it (kubectl, the Backstage API and UI). Derived by core
 * from the Job, its pods, the termination message and the newest progress line; never stored twice.
 */
import type { ErrorCode, RestorePhase } from './phases';

export interface RestoreProgress {
  objectsDone: number;
  objectsTotal?: number;
  objectsSkipped: number;
  bytesDone: number;
  bytesTotal?: number;
  bytesPerSecond: number;
  etaSeconds?: number;
  /** The listing is still going: the totals are what was listed so far. */
  listing?: boolean;
  thaw?: { waiting: number; ready: number };
}

export interface RestoreResult {
  objects: number;
  objectsSkipped: number;
  bytes: number;
  durationMs: number;
  manifest?: string;
}

export interface RestoreStatus {
  name: string;
  namespace: string;
  phase: RestorePhase;
  pvc: string;
  /** `s3://bucket/prefix` or `s3://bucket/key`, with the endpoint when not AWS. */
  source: string;
  createdAt?: string;
  startedAt?: string;
  finishedAt?: string;
  durationSeconds?: number;
  progress?: RestoreProgress;
  /** Set when Failed; while retrying, the last attempt's error. */
  error?: { code: ErrorCode; message: string; entry?: string };
  result?: RestoreResult;
  /** Pods started so far, and how many of them failed. */
  attempts: number;
  failedAttempts: number;
  /** Why the current pod is not running (e.g. `CreateContainerConfigError: secret "x" not found`). */
  waitingReason?: string;
  pods: string[];
  requester?: string;
  /** The Job has ended and will be deleted after this many seconds. */
  ttlSecondsAfterFinished?: number;
}

export function describeSource(source: {
  endpoint?: string;
  bucket: string;
  prefix?: string;
  key?: string;
}): string {
  const path = source.key ?? source.prefix ?? '';
  return source.endpoint
    ? `${source.endpoint}/${source.bucket}/${path}`
    : `s3://${source.bucket}/${path}`;
}
