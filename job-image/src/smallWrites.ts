/**
 * How the small objects of a restore (bodies that end within SMALL_FILE_BYTES) are written: in one
 * synchronous go on the main thread, in one go once their temporary file was made through the
 * thread pool, or through the thread pool. In one go costs no thread-pool
 * round trips (create, write, attributes, close and the rename's directory checks are eight of them
 * per file): a restore of many small objects took about a quarter less time and a third less CPU
 * that way, on a quiet machine, beside a writer that fsyncs, and on a starved CPU alike
 * (bench/README.md). But where each create waits for a round trip (a network volume) or a write
 * blocks for long, every transfer of the pod waits with it; the pool's threads overlap those
 * waits. So files go in one go while those writes are quick, and through the pool for a while once
 * a window of them took too long or one of them stalled; after that pause, one-go writes are
 * measured again, and a pause that did not help is followed by one twice as long.
 *
 * Between the two, where creating a file costs a few tenths of a millisecond (a local volume whose
 * journal is busy), one go keeps the main thread in those creates while other downloads wait, and
 * the pool's eight round trips a file cost more than they save: there each temporary file is made
 * through the pool, so that the creates of many files overlap on its threads, and the rest of the
 * file (write, attributes, close, rename) still takes one go. The same windows decide it, and the
 * same pauses measure one go again.
 */

/** Writes in one go over which their time is summed. */
export const WINDOW_WRITES = 64;
/**
 * The mean (ms) above which a file system makes each create wait (local ones: a few tenths). A
 * window pauses as soon as its sum passes this mean times WINDOW_WRITES: the main thread is never
 * held for much longer than that by slow writes before they go to the pool.
 */
export const SLOW_MEAN_MS = 2;
/**
 * A write in one go that took this long (ms) would have been quicker with its temporary made
 * through the pool first: a file on tmpfs takes a few hundredths, on a busy ext4 journal half a
 * millisecond and more. Temporaries are made ahead after a window in which most writes took this
 * long (the median, not the mean: a new directory or a collection now and then is no busy
 * journal), except the restore's first window, while the program's code is still cold.
 */
export const AHEAD_MS = 0.15;
/** One write in one go that took this long (ms) stalled the restore by itself. */
export const STALL_MS = 25;
/** How long (ms) small files go through the thread pool after slow writes, at first. */
export const POOL_MS = 1000;
/** The longest pause (ms), after slow windows one after another. */
export const MAX_POOL_MS = 30_000;

export class SmallWritePolicy {
  private poolUntil = Number.NEGATIVE_INFINITY;
  private aheadUntil = Number.NEGATIVE_INFINITY;
  private aheadMs = POOL_MS;
  /** The window being measured came right after creates made ahead. */
  private afterAhead = false;
  private count = 0;
  private sumMs = 0;
  /** Writes of the window that took AHEAD_MS or longer. */
  private slow = 0;
  /** Windows measured so far. */
  private windows = 0;
  /** The next pause's length: doubled when the window right after a pause is slow again. */
  private pauseMs = POOL_MS;
  /** The window being measured came right after a pause. */
  private afterPause = false;
  /** Times the policy sent small files to the pool (logs, tests). */
  pauses = 0;
  /** Times the policy had temporaries made ahead through the pool (logs, tests). */
  aheads = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Should the small body that just ended be written in one go? */
  inOneGo(): boolean {
    return this.now() >= this.poolUntil;
  }

  /** Should a body written in one go have its temporary file made through the pool first? */
  createAhead(): boolean {
    return this.now() < this.aheadUntil;
  }

  /**
   * A write in one go took `ms` (it ended now, written or failed); `ahead`: its temporary was made
   * through the pool first, so only a stall counts.
   */
  took(ms: number, ahead = false): void {
    if (ahead) {
      if (ms >= STALL_MS) this.pause();
      return;
    }
    this.count++;
    this.sumMs += ms;
    if (ms >= AHEAD_MS) this.slow++;
    if (ms >= STALL_MS || this.sumMs > SLOW_MEAN_MS * WINDOW_WRITES) {
      this.pause();
      return;
    }
    if (this.count < WINDOW_WRITES) return;
    // A window quick enough for one go: the next pause to the pool starts short.
    this.afterPause = false;
    this.pauseMs = POOL_MS;
    const first = this.windows++ === 0;
    if (!first && this.slow * 2 > WINDOW_WRITES) {
      this.makeAhead();
      return;
    }
    // Quick: plain one go pays again, and the next time of making ahead starts short too.
    this.newWindow();
    this.afterAhead = false;
    this.aheadMs = POOL_MS;
  }

  private newWindow(): void {
    this.count = 0;
    this.sumMs = 0;
    this.slow = 0;
  }

  private makeAhead(): void {
    if (this.afterAhead) this.aheadMs = Math.min(MAX_POOL_MS, this.aheadMs * 2);
    this.aheadUntil = this.now() + this.aheadMs;
    this.newWindow();
    this.afterAhead = true;
    this.aheads++;
  }

  private pause(): void {
    if (this.afterPause) this.pauseMs = Math.min(MAX_POOL_MS, this.pauseMs * 2);
    this.poolUntil = this.now() + this.pauseMs;
    this.newWindow();
    this.afterPause = true;
    this.pauses++;
  }
}
