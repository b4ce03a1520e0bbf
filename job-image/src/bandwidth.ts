/**
 * A bandwidth limit shared by every stream of the process: a token bucket refilled continuously
 * at `bytesPerSecond`, with a burst of one second. Chunks wait for their tokens (backpressure).
 */
import { setTimeout as delay } from 'node:timers/promises';

export class BandwidthLimiter {
  private tokens: number;
  private last: number;
  private readonly burst: number;
  /** Serialises waiters so that large chunks are not starved by small ones. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly bytesPerSecond: number,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (
      ms: number,
      signal?: AbortSignal,
    ) => Promise<unknown> = (ms, signal) => delay(ms, undefined, { signal }),
  ) {
    this.burst = Math.max(bytesPerSecond, 64 * 1024);
    this.tokens = this.burst;
    this.last = this.now();
  }

  /** Resolves when `bytes` may pass. */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    const next = this.queue.then(() => this.takeNow(bytes, signal));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async takeNow(bytes: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const t = this.now();
      this.tokens = Math.min(
        this.burst,
        this.tokens + ((t - this.last) / 1000) * this.bytesPerSecond,
      );
      this.last = t;
      // A chunk larger than the burst passes once the bucket is full, and drives it negative.
      if (this.tokens >= Math.min(bytes, this.burst)) {
        this.tokens -= bytes;
        return;
      }
      const waitMs =
        ((Math.min(bytes, this.burst) - this.tokens) / this.bytesPerSecond) *
        1000;
      await this.sleep(Math.max(1, Math.ceil(waitMs)), signal);
    }
  }
}

/** Passes chunks through the limiter. */
export async function* limitBandwidth(
  source: AsyncIterable<Buffer>,
  limiter: BandwidthLimiter | undefined,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    if (limiter) await limiter.take(chunk.length, signal);
    yield chunk;
  }
}
