/**
 * Exit codes and the one-line error report. Kept free of core and common imports so that the CLI
 * shell can report errors without loading them; errors are recognised by name and `kind`.
 */
import { printable } from './terminalText';

/** Documented in README.md; scripts rely on them. */
export const EXIT = {
  OK: 0,
  /** The restore failed, or an unexpected error. */
  FAILED: 1,
  /** Invalid flags, URL, quantity, name or request: nothing was created. */
  INVALID: 2,
  /** Kubernetes RBAC or admission said no, or the credentials were rejected. */
  FORBIDDEN: 3,
  NOT_FOUND: 4,
  /** Exists already, or not created by kube-restore. */
  CONFLICT: 5,
  /** `--timeout` or `--request-timeout` passed. */
  TIMEOUT: 6,
  /** The API server or the S3 server could not be reached. */
  UNAVAILABLE: 7,
  /** `exists`: no backup, start the PVC empty. */
  FRESH: 10,
  /** `exists`: cannot tell (fail closed). */
  UNKNOWN: 11,
  /** Ctrl-C while waiting: the restore goes on. */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error of the plugin itself, with the exit code to end with. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(
    message: string,
    exitCode: number = EXIT.FAILED,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export const invalid = (message: string) => new CliError(message, EXIT.INVALID);

const KIND_EXIT: Record<string, number> = {
  Invalid: EXIT.INVALID,
  Unauthorized: EXIT.FORBIDDEN,
  Forbidden: EXIT.FORBIDDEN,
  Rejected: EXIT.FORBIDDEN,
  NotFound: EXIT.NOT_FOUND,
  Conflict: EXIT.CONFLICT,
  Unavailable: EXIT.UNAVAILABLE,
  Failed: EXIT.FAILED,
};

const INPUT_ERRORS = new Set([
  'RestoreRequestError',
  'SourceUrlError',
  'QuantityError',
  'ManifestError',
  'YError',
]);

export function exitCodeOf(error: unknown): number {
  const e = error as {
    name?: string;
    kind?: string;
    exitCode?: number;
    message?: string;
  };
  if (typeof e?.exitCode === 'number') return e.exitCode;
  if (e?.name === 'RestoreError' && e.kind) {
    if (/aborted due to timeout|timed out/i.test(e.message ?? ''))
      return EXIT.TIMEOUT;
    return KIND_EXIT[e.kind] ?? EXIT.FAILED;
  }
  if (e?.name && INPUT_ERRORS.has(e.name)) return EXIT.INVALID;
  if (e?.name === 'TimeoutError') return EXIT.TIMEOUT;
  return EXIT.FAILED;
}

/** `error: <message>` on one line; the stack (and causes) only when verbose. */
export function formatError(error: unknown, verbose = false): string {
  const e = error as Error;
  const message = (e?.message ?? String(error))
    .replace(/\s*\n\s*/g, ' ')
    .trim();
  // a restore's failure message is text the job or another user wrote: escaped, never a control
  let text = `error: ${printable(message)}\n`;
  if (verbose && e?.stack) {
    text += `${e.stack}\n`;
    let cause = (e as { cause?: unknown }).cause;
    while (cause) {
      text += `caused by: ${(cause as Error).stack ?? String(cause)}\n`;
      cause = (cause as { cause?: unknown }).cause;
    }
  }
  return text;
}
