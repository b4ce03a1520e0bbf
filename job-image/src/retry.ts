/**
 * Bounded retries with full-jitter exponential backoff, for the errors a retry can fix. Throttling
 * (THROTTLED) goes through the restore's Throttle when the policy has one: it slows every request
 * down, honours Retry-After, and retries for as long as its budget allows instead of `attempts`.
 * Expired credentials (ExpiredToken) are renewed and the call tried again when their source can
 * renew them (`refreshCredentials`); from static keys the error stands (INVALID_CREDENTIALS).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  classifyError,
  isExpiredCredentials,
  isRetryableInProcess,
  RestoreError,
} from './errors';
import { retryAfterOf, Throttle, throttleReported } from './throttle';

export interface RetryPolicy {
  /** Attempts in all, the first included (throttled ones not counted when there is a throttle). */
  attempts: number;
  baseMs: number;
  maxMs: number;
  /** The restore's shared throttle (throttle.ts). */
  throttle?: Throttle;
  /**
   * After an ExpiredToken: fetch new credentials; true when the source is refreshable (then the
   * call is tried again, as an attempt), false for static ones (the error stands).
   */
  refreshCredentials?: () => Promise<boolean>;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 8,
  baseMs: 250,
  maxMs: 20_000,
};

/** Full jitter: a uniform delay in [0, min(max, base * 2^attempt)). */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

export interface RetryHooks {
  signal?: AbortSignal;
  entry?: string;
  onRetry?: (error: RestoreError, attempt: number, delayMs: number) => void;
}

/**
 * Runs `fn` until it succeeds, the error is not retryable, or the attempts are spent.
 * Always throws a classified RestoreError.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  hooks: RetryHooks = {},
): Promise<T> {
  const { throttle } = policy;
  /** Throttled tries, which do not count as attempts when there is a throttle. */
  let throttled = 0;
  for (let tries = 0; ; tries++) {
    const attempt = tries - throttled;
    try {
      const result = await fn(attempt);
      throttle?.onSuccess();
      return result;
    } catch (thrown) {
      if (hooks.signal?.aborted)
        throw new RestoreError('CANCELLED', 'the restore was stopped', {
          cause: thrown,
        });
      const error = classifyError(thrown, hooks.entry);
      let delay: number;
      if (error.code === 'THROTTLED' && throttle) {
        if (!throttleReported(thrown))
          throttle.onThrottled(retryAfterOf(thrown));
        if (!throttle.withinBudget())
          throw new RestoreError(
            'THROTTLED',
            `S3 throttled every request for ${Math.round(throttle.throttledFor() / 1000)} s: ${error.message}`,
            { entry: error.entry, cause: thrown },
          );
        // not an attempt: wait out any Retry-After, else back off as far as maxMs
        delay = Math.max(
          throttle.heldFor(),
          backoffDelay(Math.min(++throttled, 30), policy),
        );
      } else if (
        isExpiredCredentials(thrown) &&
        policy.refreshCredentials &&
        attempt + 1 < policy.attempts
      ) {
        // expired: new credentials at once, unless they cannot be renewed
        if (!(await policy.refreshCredentials().catch(() => false)))
          throw error;
        delay = 0;
      } else {
        if (!isRetryableInProcess(error.code) || attempt + 1 >= policy.attempts)
          throw error;
        delay = backoffDelay(attempt, policy);
      }
      hooks.onRetry?.(error, tries + 1, delay);
      await sleep(delay, undefined, { signal: hooks.signal }).catch(
        () => undefined,
      );
      if (hooks.signal?.aborted)
        throw new RestoreError('CANCELLED', 'the restore was stopped', {
          cause: thrown,
        });
    }
  }
}
