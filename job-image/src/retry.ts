/** Bounded retries with full-jitter exponential backoff, for the errors a retry can fix. */
import { setTimeout as sleep } from 'node:timers/promises';
import { classifyError, isRetryableInProcess, RestoreError } from './errors';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  baseMs: number;
  maxMs: number;
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
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (thrown) {
      if (hooks.signal?.aborted)
        throw new RestoreError('CANCELLED', 'the restore was stopped', {
          cause: thrown,
        });
      const error = classifyError(thrown, hooks.entry);
      if (!isRetryableInProcess(error.code) || attempt + 1 >= policy.attempts)
        throw error;
      const delay = backoffDelay(attempt, policy);
      hooks.onRetry?.(error, attempt + 1, delay);
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
