/**
 * A bound on how long a caller waits for core's S3 calls: a signal that aborts after `ms` (or when
 * `signal` does), whose reason (DeadlineExceeded) says how long was waited, so that the error a
 * listing ends with can say "timed out after N s" (s3Errors.ts).
 */

/** The reason a deadline's signal aborts with. */
export class DeadlineExceeded extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${formatSeconds(ms)}`);
    this.name = 'TimeoutError';
  }
}

export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/** Aborts after `ms` with a DeadlineExceeded, or earlier when `signal` aborts (with its reason). */
export function deadline(ms: number, signal?: AbortSignal): AbortSignal {
  if (!Number.isFinite(ms) || ms <= 0)
    throw new RangeError(
      `a deadline must be a positive number of ms (got ${ms})`,
    );
  const controller = new AbortController();
  // unref: a pending deadline never keeps the process alive.
  setTimeout(() => controller.abort(new DeadlineExceeded(ms)), ms).unref();
  return signal
    ? AbortSignal.any([signal, controller.signal])
    : controller.signal;
}

/**
 * How long a service (the populator, the Backstage backend) waits for a source's S3 endpoint in
 * one call of core (a sizing, a create's bounds listing): an endpoint that accepts connections and
 * never answers must not hold it.
 */
export const DEFAULT_S3_DEADLINE_MS = 60_000;
