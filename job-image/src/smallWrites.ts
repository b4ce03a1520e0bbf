/**
 * How the small objects of a restore (bodies that end within SMALL_FILE_BYTES) are written: in one
 * synchronous go on the main thread, or through the thread pool. In one go costs no thread-pool
 * round trips (create, write, attributes, close and the rename's directory checks are eight of them
 * per file): a restore of many small objects took about a quarter less time and a third less CPU
 * that way, on a quiet machine, beside a writer that fsyncs, and on a starved CPU alike
 * (bench/README.md). But where each create waits for a round trip (a network volume) or a write
 * blocks for long, every transfer of the pod waits with it; the pool's threads overlap those
 * waits. So files go in one go while those writes are quick, and through the pool for a while once
 * they are slow on average or one of them stalled; after that pause, the next small files in one
 * go measure again.
 */

/** Writes in one go over which their mean time is taken. */
export const WINDOW_WRITES = 64;
/** A mean above this (ms) is a file system that makes each create wait (local ones: a few tenths). */
export const SLOW_MEAN_MS = 2;
/** One write in one go that took this long (ms) stalled the restore by itself. */
export const STALL_MS = 25;
/** How long (ms) small files go through the thread pool after slow writes. */
export const POOL_MS = 1000;

export class SmallWritePolicy {
  private poolUntil = Number.NEGATIVE_INFINITY;
  private count = 0;
  private sumMs = 0;
  /** Times the policy sent small files to the pool (logs, tests). */
  pauses = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Should the small body that just ended be written in one go? */
  inOneGo(): boolean {
    return this.now() >= this.poolUntil;
  }

  /** A write in one go took `ms` (it ended now). */
  took(ms: number): void {
    if (ms >= STALL_MS) {
      this.pause();
      return;
    }
    this.count++;
    this.sumMs += ms;
    if (this.count < WINDOW_WRITES) return;
    const mean = this.sumMs / this.count;
    this.count = 0;
    this.sumMs = 0;
    if (mean > SLOW_MEAN_MS) this.pause();
  }

  private pause(): void {
    this.poolUntil = this.now() + POOL_MS;
    this.count = 0;
    this.sumMs = 0;
    this.pauses++;
  }
}
