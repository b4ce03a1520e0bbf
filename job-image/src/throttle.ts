/**
 * What the job does when S3 throttles (503 SlowDown, 429, `Retry-After`): one Throttle per restore,
 * shared by every request. S3 asks the client to slow down as a whole, so the answer is too:
 *
 * - a request that is throttled halves the number of S3 requests the program may start at once
 *   (at most once a second, so that one burst of 503s counts once), down to one;
 * - `Retry-After`, when given, holds every new request until it has passed; without one, a hold
 *   that doubles with each throttled request in a row (up to `backoff.maxMs`, with jitter), so that
 *   requests queued behind the limit do not follow each other at the speed of a 503;
 * - each run of `limit` successes raises the limit by one, back up to the restore's concurrency;
 * - throttled requests are retried without using up their attempts for as long as the throttling
 *   lasts, up to `budgetMs` since the last success of any request (then THROTTLED, not fatal).
 *
 * The limit gates when a request starts (S3Access.request, until its response head): a body being
 * read does not hold a slot, the rate of new requests is what S3 throttles.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { whenAborted } from './abortWaits';
import { classifyError } from './errors';

export interface ThrottleOptions {
  /** The most requests at once (and the starting limit). */
  max: number;
  /** How long requests may go on being throttled with no success anywhere before giving up. */
  budgetMs: number;
  now?: () => number;
  /** The hold after a throttled request without Retry-After: base * 2^(in a row), at most max. */
  backoff?: { baseMs: number; maxMs: number };
  random?: () => number;
  /** Told when the limit changes. */
  onChange?: (event: ThrottleEvent) => void;
}

export interface ThrottleEvent {
  kind: 'slowed' | 'recovered';
  limit: number;
  max: number;
  /** Milliseconds every new request is held for (Retry-After), when slowed. */
  holdMs?: number;
}

/** How long the minimum gap between two halvings of the limit is. */
const DECREASE_GAP_MS = 1000;
/** The longest Retry-After honoured (a larger one is taken as this). */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

export class Throttle {
  limit: number;
  /** The most requests at once: options.max, or more once raiseMax() raised it. */
  private max: number;
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  private holdUntil = 0;
  private lastDecrease = -Infinity;
  private successes = 0;
  private throttledSince: number | undefined;
  /** Throttling lowered the limit (or found it at one) and it has not recovered to the most yet. */
  private backingOff = false;
  /** Throttled requests since the last success. */
  private inARow = 0;
  private readonly now: () => number;

  constructor(private readonly options: ThrottleOptions) {
    this.limit = Math.max(1, options.max);
    this.max = this.limit;
    this.now = options.now ?? Date.now;
  }

  /** Milliseconds every new request is still held for (Retry-After). */
  heldFor(): number {
    return Math.max(0, this.holdUntil - this.now());
  }

  /** Waits for a slot (and for any hold to pass); call `release` once the request has its answer. */
  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const held = this.heldFor();
      if (held > 0) {
        await sleep(held, undefined, { signal });
        continue;
      }
      if (this.inFlight < this.limit && this.waiting.length === 0) {
        this.inFlight++;
        return;
      }
      // first come, first served: a released slot is handed to the longest waiter
      await new Promise<void>((resolve, reject) => {
        let endWait = () => {};
        const grant = () => {
          endWait();
          resolve();
        };
        if (signal)
          endWait = whenAborted(signal, () => {
            const i = this.waiting.indexOf(grant);
            if (i >= 0) this.waiting.splice(i, 1);
            reject(signal.reason);
          });
        this.waiting.push(grant);
      });
      if (this.heldFor() === 0) return;
      // a Retry-After came meanwhile: give the slot back and wait it out
      this.release();
    }
  }

  release(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.grant();
  }

  private grant(): void {
    while (this.inFlight < this.limit && this.waiting.length > 0) {
      this.inFlight++;
      this.waiting.shift()!();
    }
  }

  /** A request got through. */
  onSuccess(): void {
    this.throttledSince = undefined;
    this.inARow = 0;
    if (this.limit >= this.max) {
      this.backingOff = false;
      return;
    }
    if (++this.successes < this.limit) return;
    this.successes = 0;
    this.limit++;
    if (this.limit >= this.max) this.backingOff = false;
    this.options.onChange?.({
      kind: 'recovered',
      limit: this.limit,
      max: this.max,
    });
    this.grant();
  }

  /**
   * Raises the most requests at once (never lowers it): the download gate (inFlight.ts) lets more
   * small objects in when the round trip is long. A limit that is not backing off goes up with it;
   * one that throttling lowered (even a limit of one that halving left at one) recovers towards the
   * new most, one success run at a time.
   */
  raiseMax(max: number): void {
    if (max <= this.max) return;
    if (!this.backingOff) this.limit = max;
    this.max = max;
    this.grant();
  }

  /**
   * A request failed with `error`: when S3 throttled it, tells this throttle (before the request's
   * slot is released, so that the next request already waits for the hold) and marks the error, so
   * that withRetry does not tell it again (throttleReported).
   */
  reportIfThrottled(error: unknown): void {
    if (classifyError(error).code !== 'THROTTLED') return;
    this.onThrottled(retryAfterOf(error));
    if (error && typeof error === 'object')
      (error as ReportedError).throttleReported = true;
  }

  /** A request was throttled; `retryAfterMs` from its Retry-After, if any. */
  onThrottled(retryAfterMs?: number): void {
    const now = this.now();
    this.throttledSince ??= now;
    this.successes = 0;
    this.backingOff = true;
    const { backoff } = this.options;
    const random = this.options.random ?? Math.random;
    let hold = 0;
    if (retryAfterMs !== undefined)
      hold = Math.min(MAX_RETRY_AFTER_MS, Math.max(0, retryAfterMs));
    else if (backoff)
      hold = Math.floor(
        Math.min(
          backoff.maxMs,
          backoff.baseMs * 2 ** Math.min(this.inARow, 30),
        ) *
          (0.5 + 0.5 * random()),
      );
    this.inARow++;
    let changed = false;
    if (hold > 0 && now + hold > this.holdUntil) {
      this.holdUntil = now + hold;
      changed = true;
    }
    if (now - this.lastDecrease >= DECREASE_GAP_MS) {
      this.lastDecrease = now;
      const next = Math.max(1, Math.floor(this.limit / 2));
      if (next !== this.limit) {
        this.limit = next;
        changed = true;
      }
    }
    if (changed)
      this.options.onChange?.({
        kind: 'slowed',
        limit: this.limit,
        max: this.max,
        holdMs: hold > 0 ? hold : undefined,
      });
  }

  /** May a throttled request be retried again (throttling has not lasted past the budget)? */
  withinBudget(): boolean {
    return (
      this.throttledSince === undefined ||
      this.now() - this.throttledSince < this.options.budgetMs
    );
  }

  /** How long throttling has lasted with no success, in ms. */
  throttledFor(): number {
    return this.throttledSince === undefined
      ? 0
      : this.now() - this.throttledSince;
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or bad. */
export function parseRetryAfter(
  value: string | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

interface ReportedError {
  throttleReported?: boolean;
}

/** Was the throttle already told of this error (reportIfThrottled)? */
export function throttleReported(error: unknown): boolean {
  return (error as ReportedError | undefined)?.throttleReported === true;
}

/** The Retry-After of an error from our lean path or the SDK, in ms. */
export function retryAfterOf(error: unknown): number | undefined {
  const e = error as {
    retryAfter?: string;
    $response?: { headers?: Record<string, string | undefined> };
  };
  return parseRetryAfter(
    e?.retryAfter ?? e?.$response?.headers?.['retry-after'],
  );
}
