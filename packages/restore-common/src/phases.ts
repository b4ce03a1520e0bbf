/**
 * Restore phases, in the order a restore passes through them.
 * `PendingApproval` is only ever held by the Backstage backend: nothing exists in the cluster yet.
 */
export const RESTORE_PHASES = [
  'PendingApproval',
  'Pending',
  'Planning',
  'Thawing',
  'Restoring',
  'Verifying',
  'Succeeded',
  'Failed',
] as const;

export type RestorePhase = (typeof RESTORE_PHASES)[number];

/** Phases the job program itself reports (in progress lines and the termination message). */
export const JOB_PHASES = [
  'Planning',
  'Thawing',
  'Restoring',
  'Verifying',
  'Succeeded',
  'Failed',
] as const;
export type JobPhase = (typeof JOB_PHASES)[number];

export const TERMINAL_PHASES: readonly RestorePhase[] = ['Succeeded', 'Failed'];

export function isTerminalPhase(phase: RestorePhase): boolean {
  return TERMINAL_PHASES.includes(phase);
}

export function isRestorePhase(value: unknown): value is RestorePhase {
  return (
    typeof value === 'string' &&
    (RESTORE_PHASES as readonly string[]).includes(value)
  );
}

/**
 * Machine-readable error codes. `fatal` codes are errors that retrying the pod cannot fix:
 * the job program exits with EXIT_CODE_FATAL and the Job's podFailurePolicy fails the Job at once.
 */
export const ERROR_CODES = {
  INVALID_REQUEST: { fatal: true, summary: 'the restore request is invalid' },
  ACCESS_DENIED: {
    fatal: true,
    summary: 'the credentials may not read the source',
  },
  INVALID_CREDENTIALS: {
    fatal: true,
    summary: 'the credentials were rejected',
  },
  UNTRUSTED_CERTIFICATE: {
    fatal: true,
    summary:
      "the S3 endpoint's TLS certificate is not trusted (a private CA needs source.caBundle)",
  },
  NO_SUCH_BUCKET: { fatal: true, summary: 'the bucket does not exist' },
  NO_SUCH_KEY: { fatal: true, summary: 'the object does not exist' },
  NO_OBJECTS: {
    fatal: true,
    summary: 'no object matched the source and filters',
  },
  ARCHIVED_OBJECT: {
    fatal: true,
    summary: 'an object is archived and the request does not allow a thaw',
  },
  INVALID_ARCHIVE: {
    fatal: true,
    summary: 'the archive is corrupt or not a supported format',
  },
  UNSAFE_PATH: {
    fatal: true,
    summary: 'a key or archive entry would be written outside the volume',
  },
  PATH_CONFLICT: {
    fatal: true,
    summary:
      'two entries map to the same path, or a file stands where a directory must go',
  },
  TARGET_NOT_EMPTY: {
    fatal: true,
    summary: 'the target volume is not empty and the conflict policy is fail',
  },
  TARGET_IN_USE: {
    fatal: true,
    summary:
      'another restore is writing the target volume; one restore writes a volume at a time',
  },
  NO_SPACE: { fatal: true, summary: 'the volume is full' },
  CHECKSUM_MISMATCH: {
    fatal: false,
    summary: 'data read does not match its checksum',
  },
  THROTTLED: {
    fatal: false,
    summary: 'the S3 server kept throttling requests',
  },
  NETWORK: {
    fatal: false,
    summary: 'the S3 server could not be reached or the connection broke',
  },
  SERVER_ERROR: { fatal: false, summary: 'the S3 server kept failing' },
  // Fatal: waitSeconds is the request's own limit; a retried pod would wait that long again.
  THAW_TIMEOUT: {
    fatal: true,
    summary:
      'archived objects were not restored within source.archive.waitSeconds',
  },
  CANCELLED: { fatal: false, summary: 'the restore was stopped (SIGTERM)' },
  DEADLINE_EXCEEDED: {
    fatal: true,
    summary: 'the restore ran past its deadline',
  },
  BACKOFF_LIMIT_EXCEEDED: {
    fatal: true,
    summary: 'the restore failed more often than its retry limit',
  },
  // Set by readers from the kubelet's OOMKilled reason (the killed program writes no message).
  OUT_OF_MEMORY: {
    fatal: false,
    summary:
      'the restore pod was killed at its memory limit (OOMKilled): give the Job more memory or lower options.concurrency',
  },
  INTERNAL: { fatal: false, summary: 'an unexpected error in the job program' },
  UNKNOWN: {
    fatal: false,
    summary: 'the restore failed without a structured reason',
  },
} as const satisfies Record<string, { fatal: boolean; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
export const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as [
  ErrorCode,
  ...ErrorCode[],
];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** Exit codes of the job program; EXIT_CODE_FATAL is matched by the Job's podFailurePolicy. */
export const EXIT_CODE_SUCCESS = 0;
export const EXIT_CODE_RETRYABLE = 1;
export const EXIT_CODE_FATAL = 42;

export function exitCodeFor(code: ErrorCode | undefined): number {
  if (code === undefined) return EXIT_CODE_SUCCESS;
  return ERROR_CODES[code].fatal ? EXIT_CODE_FATAL : EXIT_CODE_RETRYABLE;
}
