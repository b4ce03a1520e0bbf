/**
 * How the small objects of a restore (bodies that end within SMALL_FILE_BYTES) are written: in one
 * synchronous go on the main thread, or through the thread pool. In one go costs no thread-pool
 * round trips (create, write, attributes, close and the rename's directory checks are eight of them
 * per file): a restore of many small objects took about a quarter less time and a third less CPU
 * that way, on a quiet machine, beside a writer that fsyncs, and on a starved CPU alike
 * (bench/README.md). But where each create waits for a round trip (a network volume) or a write
 * blocks for long, every transfer of the pod waits with it; the pool's threads overlap those
 * waits. So files go in one go while those writes are quick, and through the pool for a while once
 * a window of them took too long or one of them stalled; after that pause, one-go writes are
 * measured again, and a pause that did not help is followed by one twice as long.
 */

/** Writes in one go over which their time is summed. */
export const WINDOW_WRITES = 64;
/**
 * The mean (ms) above which a file system makes each create wait (local ones: a few tenths). A
 * window pauses as soon as its sum passes this mean times WINDOW_WRITES: the main thread is never
 * held for much longer than that by slow writes before they go to the pool.
 */
export const SLOW_MEAN_MS = 2;
/** One write in one go that took this long (ms) stalled the restore by itself. */
export const STALL_MS = 25;
/** How long (ms) small files go through the thread pool after slow writes, at first. */
export const POOL_MS = 1000;
/** The longest pause (ms), after slow windows one after another. */
export const MAX_POOL_MS = 30_000;

export class SmallWritePolicy {
  private poolUntil = Number.NEGATIVE_INFINITY;
  private count = 0;
  private sumMs = 0;
  /** The next pause's length: doubled when the window right after a pause is slow again. */
  private pauseMs = POOL_MS;
  /** The window being measured came right after a pause. */
  private afterPause = false;
  /** Times the policy sent small files to the pool (logs, tests). */
  pauses = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Should the small body that just ended be written in one go? */
  inOneGo(): boolean {
    return this.now() >= this.poolUntil;
  }

  /** A write in one go took `ms` (it ended now, written or failed). */
  took(ms: number): void {
    this.count++;
    this.sumMs += ms;
    if (ms >= STALL_MS || this.sumMs > SLOW_MEAN_MS * WINDOW_WRITES) {
      this.pause();
      return;
    }
    if (this.count < WINDOW_WRITES) return;
    // A quick window: writes in one go pay again, and the next pause starts short.
    this.count = 0;
    this.sumMs = 0;
    this.afterPause = false;
    this.pauseMs = POOL_MS;
  }

  private pause(): void {
    if (this.afterPause) this.pauseMs = Math.min(MAX_POOL_MS, this.pauseMs * 2);
    this.poolUntil = this.now() + this.pauseMs;
    this.count = 0;
    this.sumMs = 0;
    this.afterPause = true;
    this.pauses++;
  }
}
