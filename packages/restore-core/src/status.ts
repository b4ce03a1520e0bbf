/**
 * Status derivation, pure: Job conditions + pods + termination messages + the newest progress line of
 * each running pod -> RestoreStatus. Nothing is stored twice; every reader derives the same answer.
 */
import type { V1ContainerStatus, V1Job, V1Pod } from '@kubernetes/client-node';
import {
  ANNOTATION_REQUEST,
  ANNOTATION_REQUESTER,
  ERROR_CODES,
  ErrorCode,
  LABEL_RESTORE,
  ProgressLine,
  RestorePhase,
  RestoreProgress,
  RestoreRequest,
  RestoreResult,
  RestoreStatus,
  TerminationMessage,
  decodeTerminationMessage,
  describeSource,
  safeParseRestoreRequest,
} from '@kube-restore/common';
import { CONTAINER_NAME } from './manifests';

/**
 * The waitingReason of a restore whose Job is still suspended: its create stopped between the Job
 * and its resume (interrupted.ts); createRestore with the same request finishes it.
 */
export const WAITING_SUSPENDED = 'the Job is suspended';

export interface StatusInputs {
  job: V1Job;
  pods: V1Pod[];
  /** Newest progress line of each pod, by pod name (running pods only need one). */
  progressByPod?: Record<string, ProgressLine | undefined>;
  now?: Date;
}

/** The request a Job carries in its annotation, or undefined when missing or not ours. */
export function requestOfJob(job: V1Job): RestoreRequest | undefined {
  const raw = job.metadata?.annotations?.[ANNOTATION_REQUEST];
  if (!raw) return undefined;
  try {
    // Reading back what was created: a deployment that allows special mode bits created it.
    const parsed = safeParseRestoreRequest(JSON.parse(raw), {
      allowSpecialModeBits: true,
    });
    return parsed.ok ? parsed.request : undefined;
  } catch {
    return undefined;
  }
}

function containerStatus(pod: V1Pod): V1ContainerStatus | undefined {
  return (
    pod.status?.containerStatuses?.find(c => c.name === CONTAINER_NAME) ??
    pod.status?.containerStatuses?.[0]
  );
}

function time(value: Date | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = new Date(value).getTime();
  return Number.isNaN(t) ? undefined : t;
}

function iso(value: Date | string | undefined): string | undefined {
  const t = time(value);
  return t === undefined ? undefined : new Date(t).toISOString();
}

interface PodEnd {
  exitCode: number;
  message: TerminationMessage | undefined;
  text: string | undefined;
  /** the kubelet's reason, e.g. OOMKilled, Error, Completed */
  reason: string | undefined;
}

function podEnd(pod: V1Pod): PodEnd | undefined {
  const terminated = containerStatus(pod)?.state?.terminated;
  if (!terminated) return undefined;
  const decoded = decodeTerminationMessage(terminated.message);
  return {
    exitCode: terminated.exitCode,
    message: decoded.kind === 'structured' ? decoded.message : undefined,
    text: decoded.kind === 'text' ? decoded.text : terminated.reason,
    reason: terminated.reason,
  };
}

function errorOf(end: PodEnd): {
  code: ErrorCode;
  message: string;
  entry?: string;
} {
  if (end.message && end.message.phase === 'Failed') {
    return {
      code: end.message.code ?? 'UNKNOWN',
      message: end.message.message,
      ...(end.message.entry ? { entry: end.message.entry } : {}),
    };
  }
  // Killed at the memory limit: the program could write nothing, and the log tail would hide why.
  if (end.reason === 'OOMKilled') {
    return {
      code: 'OUT_OF_MEMORY',
      message: `${ERROR_CODES.OUT_OF_MEMORY.summary} (exit code ${end.exitCode})`,
    };
  }
  // A missing or malformed message is a failure; the kubelet's log-tail fallback is the best explanation.
  return {
    code: 'UNKNOWN',
    message: end.text
      ? `exit code ${end.exitCode}: ${end.text}`
      : `exit code ${end.exitCode}`,
  };
}

function sumProgress(lines: ProgressLine[]): RestoreProgress | undefined {
  if (lines.length === 0) return undefined;
  const total = (pick: (l: ProgressLine) => number | undefined) =>
    lines.every(l => pick(l) !== undefined)
      ? lines.reduce((n, l) => n + (pick(l) ?? 0), 0)
      : undefined;
  const progress: RestoreProgress = {
    objectsDone: total(l => l.objectsDone) ?? 0,
    objectsTotal: total(l => l.objectsTotal),
    objectsSkipped: total(l => l.objectsSkipped) ?? 0,
    bytesDone: total(l => l.bytesDone) ?? 0,
    bytesTotal: total(l => l.bytesTotal),
    bytesPerSecond: total(l => l.bytesPerSecond) ?? 0,
    etaSeconds: lines.every(l => l.etaSeconds !== undefined)
      ? Math.max(...lines.map(l => l.etaSeconds ?? 0))
      : undefined,
    listing: lines.some(l => l.listing) || undefined,
  };
  const thaws = lines
    .map(l => l.thaw)
    .filter((t): t is NonNullable<typeof t> => !!t);
  if (thaws.length) {
    progress.thaw = {
      waiting: thaws.reduce((n, t) => n + t.waiting, 0),
      ready: thaws.reduce((n, t) => n + t.ready, 0),
    };
  }
  for (const key of Object.keys(progress) as (keyof RestoreProgress)[]) {
    if (progress[key] === undefined) delete progress[key];
  }
  return progress;
}

function sumResults(messages: TerminationMessage[]): RestoreResult | undefined {
  if (messages.length === 0) return undefined;
  const manifest = messages.find(m => m.manifest)?.manifest;
  return {
    objects: messages.reduce((n, m) => n + m.objects, 0),
    objectsSkipped: messages.reduce((n, m) => n + m.objectsSkipped, 0),
    bytes: messages.reduce((n, m) => n + m.bytes, 0),
    durationMs: Math.max(...messages.map(m => m.durationMs)),
    ...(manifest ? { manifest } : {}),
  };
}

const PHASE_ORDER: RestorePhase[] = [
  'Pending',
  'Planning',
  'Thawing',
  'Restoring',
  'Verifying',
];

export function deriveRestoreStatus({
  job,
  pods,
  progressByPod = {},
  now = new Date(),
}: StatusInputs): RestoreStatus {
  const name =
    job.metadata?.labels?.[LABEL_RESTORE] ?? job.metadata?.name ?? '';
  const namespace = job.metadata?.namespace ?? '';
  const request = requestOfJob(job);
  const sorted = [...pods].sort(
    (a, b) =>
      (time(a.metadata?.creationTimestamp) ?? 0) -
      (time(b.metadata?.creationTimestamp) ?? 0),
  );
  const conditions = job.status?.conditions ?? [];
  const condition = (type: string) =>
    conditions.find(c => c.type === type && c.status === 'True');
  const complete = condition('Complete') ?? condition('SuccessCriteriaMet');
  const failed = condition('Failed') ?? condition('FailureTarget');

  const ends = sorted.map(pod => ({ pod, end: podEnd(pod) }));
  const failedEnds = ends.filter(
    e => e.end && e.end.exitCode !== 0 && e.pod.status?.phase === 'Failed',
  );
  const lastFailure = failedEnds.at(-1)?.end;

  const status: RestoreStatus = {
    name,
    namespace,
    phase: 'Pending',
    pvc:
      request?.target.pvc ??
      job.spec?.template.spec?.volumes?.find(v => v.persistentVolumeClaim)
        ?.persistentVolumeClaim?.claimName ??
      '',
    source: request ? describeSource(request.source) : '',
    createdAt: iso(job.metadata?.creationTimestamp),
    startedAt: iso(job.status?.startTime),
    finishedAt: iso(
      job.status?.completionTime ??
        (failed ? failed.lastTransitionTime : undefined),
    ),
    attempts: sorted.length,
    failedAttempts: Math.max(job.status?.failed ?? 0, failedEnds.length),
    pods: sorted.map(p => p.metadata?.name ?? '').filter(Boolean),
    requester: job.metadata?.annotations?.[ANNOTATION_REQUESTER],
    ttlSecondsAfterFinished: job.spec?.ttlSecondsAfterFinished,
  };

  if (complete) {
    status.phase = 'Succeeded';
    const messages = ends
      .filter(e => e.pod.status?.phase === 'Succeeded' && e.end?.message)
      .map(e => e.end?.message as TerminationMessage);
    status.result = sumResults(messages);
  } else if (failed) {
    status.phase = 'Failed';
    if (failed.reason === 'DeadlineExceeded') {
      status.error = {
        code: 'DEADLINE_EXCEEDED',
        message: `the restore ran past its deadline of ${job.spec?.activeDeadlineSeconds}s`,
      };
    } else if (lastFailure) {
      status.error = errorOf(lastFailure);
      if (
        failed.reason === 'BackoffLimitExceeded' &&
        status.error.code === 'UNKNOWN'
      ) {
        status.error = {
          code: 'BACKOFF_LIMIT_EXCEEDED',
          message: `failed ${status.failedAttempts} times; last: ${status.error.message}`,
        };
      }
    } else {
      status.error = {
        code: 'UNKNOWN',
        message: failed.message || failed.reason || 'the Job failed',
      };
    }
  } else {
    if (lastFailure) status.error = errorOf(lastFailure);
    const active = sorted.filter(
      p => !['Succeeded', 'Failed'].includes(p.status?.phase ?? ''),
    );
    const running = active.filter(p => containerStatus(p)?.state?.running);
    const lines = running
      .map(p => progressByPod[p.metadata?.name ?? ''])
      .filter((l): l is ProgressLine => !!l);
    if (running.length > 0) {
      const phases = lines
        .map(l => l.phase as RestorePhase)
        .filter(p => PHASE_ORDER.includes(p));
      // The least advanced shard decides; a pod with no progress line yet is Planning.
      status.phase =
        phases.length === running.length && phases.length > 0
          ? PHASE_ORDER[Math.min(...phases.map(p => PHASE_ORDER.indexOf(p)))]
          : 'Planning';
      status.progress = sumProgress(lines);
    } else if (
      active.length === 0 &&
      sorted.at(-1)?.status?.phase === 'Succeeded'
    ) {
      // The program finished; the Job controller has not recorded it yet. Never go back to Pending.
      status.phase = 'Verifying';
    } else {
      status.phase = 'Pending';
      const waiting = active
        .map(p => containerStatus(p)?.state?.waiting)
        .find(w => w?.reason);
      const unscheduled = active
        .flatMap(p => p.status?.conditions ?? [])
        .find(c => c.type === 'PodScheduled' && c.status === 'False');
      if (job.spec?.suspend) status.waitingReason = WAITING_SUSPENDED;
      else if (waiting)
        status.waitingReason = waiting.message
          ? `${waiting.reason}: ${waiting.message}`
          : waiting.reason;
      else if (unscheduled)
        status.waitingReason =
          `${unscheduled.reason ?? 'Unschedulable'}: ${unscheduled.message ?? ''}`.trim();
    }
  }

  const start = time(status.startedAt ?? status.createdAt);
  const end =
    time(status.finishedAt) ??
    (['Succeeded', 'Failed'].includes(status.phase)
      ? undefined
      : now.getTime());
  if (start !== undefined && end !== undefined)
    status.durationSeconds = Math.max(0, Math.round((end - start) / 1000));
  for (const key of Object.keys(status) as (keyof RestoreStatus)[]) {
    if (status[key] === undefined) delete status[key];
  }
  return status;
}
