/**
 * How many objects are downloaded at once. Large objects hold memory and bandwidth: at most
 * `options.concurrency` large streams, an object's own or the spare ones its ranged parts borrow
 * (sources/partWorkers.ts). Small ones (256 KiB or less) hold little of either: a far region
 * makes them wait on the round trip, not on the link, so they get as many in flight as the round
 * trip calls for (a bandwidth-delay product): the concurrency that keeps the job busy when the
 * first byte of a GET comes back after 2.5 ms, scaled by the measured time to first byte, from
 * `options.concurrency` up to 16 times that and never more than 256. 256 small bodies are at most
 * 64 MiB, so the pod's default memory limit holds. Only the default concurrency scales so: a request
 * that sets options.concurrency holds small objects to it too (tuning.ts, `smallScales`).
 *
 * The time to first byte is the least of the last 32 successful GETs and HEADs (S3Access records
 * them), so that the server's queueing under many requests does not raise the number further.
 */
import { whenAborted } from './abortWaits';
import { RestoreError } from './errors';

/** Objects of at most this many bytes are small. */
export const SMALL_OBJECT_BYTES = 256 * 1024;
/** Small objects in flight per `options.concurrency`, at most. */
export const SMALL_PER_CONCURRENCY = 16;
/** Small objects in flight, at most, whatever the concurrency. */
export const MAX_SMALL_IN_FLIGHT = 256;
/** The time to first byte at which `options.concurrency` small objects keep the job busy. */
export const REFERENCE_FIRST_BYTE_MS = 2.5;
const SAMPLES = 32;

/** Recent times to first byte, in ms. */
export class FirstByteTimes {
  private readonly samples: number[] = [];
  private next = 0;
  /** The least of the samples, worked out again only after a new one (read for every admission). */
  private least: number | undefined;
  /** The greatest, likewise (read for every lean request, answerDeadline.ts). */
  private most: number | undefined;

  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    if (this.samples.length < SAMPLES) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % SAMPLES;
    this.least = undefined;
    this.most = undefined;
  }

  /** The least of the recent times, or undefined before the first. */
  get minMs(): number | undefined {
    if (this.least === undefined && this.samples.length)
      this.least = Math.min(...this.samples);
    return this.least;
  }

  /** The greatest of the recent times, or undefined before the first. */
  get maxMs(): number | undefined {
    if (this.most === undefined && this.samples.length)
      this.most = Math.max(...this.samples);
    return this.most;
  }
}

/**
 * The most small objects in flight for `concurrency` (the number of download workers needed):
 * `concurrency` itself when small objects may not scale (the request set options.concurrency).
 */
export function smallObjectBound(concurrency: number, scales = true): number {
  if (!scales) return concurrency;
  return Math.max(
    concurrency,
    Math.min(MAX_SMALL_IN_FLIGHT, concurrency * SMALL_PER_CONCURRENCY),
  );
}

interface Waiter {
  small: boolean;
  go: () => void;
}

/** The gate every object download passes (download.ts). */
export class InFlight {
  private large = 0;
  private small = 0;
  private readonly waiting: Waiter[] = [];
  private largeWaiters = 0;
  /** The most small objects ever in flight at once (tests, the bench). */
  peakSmall = 0;

  private raisedTo = 0;

  /**
   * `onSmallLimit`: told each time the small limit reaches a new high (the throttle follows it).
   * `scales`: false holds small objects to `concurrency` too (options.concurrency set explicitly).
   */
  constructor(
    private readonly concurrency: number,
    private readonly firstByte: FirstByteTimes,
    private readonly onSmallLimit?: (limit: number) => void,
    private readonly scales = true,
  ) {}

  /** Download workers needed so that the gate, not the workers, is the limit. */
  get bound(): number {
    return smallObjectBound(this.concurrency, this.scales);
  }

  /** Small objects allowed in flight now. */
  get smallLimit(): number {
    const ms = this.firstByte.minMs;
    if (ms === undefined) return this.concurrency;
    const wanted = Math.ceil((this.concurrency * ms) / REFERENCE_FIRST_BYTE_MS);
    return Math.min(this.bound, Math.max(this.concurrency, wanted));
  }

  /** Runs `fn` once an object of `size` bytes may be in flight. */
  async run<T>(
    size: number,
    signal: AbortSignal,
    fn: () => Promise<T>,
  ): Promise<T> {
    const small = size <= SMALL_OBJECT_BYTES;
    await this.enter(small, signal);
    try {
      return await fn();
    } finally {
      if (small) this.small--;
      else this.large--;
      this.wakeUp();
    }
  }

  /**
   * Up to `wanted` more large slots now, without waiting, for the parallel parts of a large object
   * already in flight (sources/partWorkers.ts); none while a large object waits. A borrowed slot
   * is given back when its part ends and a large object waits.
   */
  takeSpareLarge(wanted: number): number {
    if (this.largeWaiters > 0) return 0;
    const taken = Math.max(0, Math.min(wanted, this.concurrency - this.large));
    this.large += taken;
    return taken;
  }

  /** Gives back one slot taken by takeSpareLarge. */
  releaseLarge(): void {
    if (this.large <= 0)
      throw new RestoreError('INTERNAL', 'a large slot was given back twice');
    this.large--;
    this.wakeUp();
  }

  /** A large object is waiting for a slot (a split object's borrowed slots go back to it). */
  get largeWaiting(): boolean {
    return this.largeWaiters > 0;
  }

  private admits(small: boolean, limit = this.currentSmallLimit()): boolean {
    if (!small) return this.large < this.concurrency;
    return this.small < limit;
  }

  /** The small limit now; the throttle is told each new high. */
  private currentSmallLimit(): number {
    const limit = this.smallLimit;
    if (limit > this.raisedTo) {
      this.raisedTo = limit;
      this.onSmallLimit?.(limit);
    }
    return limit;
  }

  private take(small: boolean): void {
    if (small) {
      this.small++;
      this.peakSmall = Math.max(this.peakSmall, this.small);
    } else this.large++;
  }

  private enter(small: boolean, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.admits(small)) {
      this.take(small);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      let endWait = () => {};
      const waiter: Waiter = {
        small,
        go: () => {
          endWait();
          if (!small) this.largeWaiters--;
          this.take(small);
          resolve();
        },
      };
      endWait = whenAborted(signal, () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) {
          this.waiting.splice(i, 1);
          if (!small) this.largeWaiters--;
        }
        reject(signal.reason);
      });
      this.waiting.push(waiter);
      if (!small) this.largeWaiters++;
    });
  }

  /** Lets in whoever now fits, in arrival order within each kind. */
  private wakeUp(): void {
    if (this.waiting.length === 0) return;
    // One limit for the whole pass: the waiters let in here have not started a request yet.
    const limit = this.currentSmallLimit();
    for (let i = 0; i < this.waiting.length;) {
      if (this.small >= limit && this.large >= this.concurrency) return;
      const w = this.waiting[i];
      if (this.admits(w.small, limit)) {
        this.waiting.splice(i, 1);
        w.go();
      } else i++;
    }
  }
}
