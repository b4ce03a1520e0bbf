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
 *
 * All of that is for Node's own calls. With the native addon (`oneTrip`, smallFileWriter.ts) a
 * small file takes one trip through the pool for all its calls: the main thread is never held by
 * them and there is no round trip a call to save, so every small file below the volume root goes
 * that way and the windows only decide for the others.
 */
import type { WriteFileIn } from './smallFileWriter';

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

/**
 * A spell of one way of writing (through the pool, or with temporaries made ahead): POOL_MS at
 * first, twice as long when it starts again right after the last one ended (the window between was
 * slow again), up to MAX_POOL_MS; back to POOL_MS after a quick window.
 */
class Spell {
  private until = Number.NEGATIVE_INFINITY;
  private lengthMs = POOL_MS;
  /** The window being measured came right after this spell. */
  private justEnded = false;
  /** Times it started (logs, tests). */
  times = 0;

  on(now: number): boolean {
    return now < this.until;
  }

  start(now: number): void {
    if (this.justEnded)
      this.lengthMs = Math.min(MAX_POOL_MS, this.lengthMs * 2);
    this.until = now + this.lengthMs;
    this.justEnded = true;
    this.times++;
  }

  /** A quick window: the next spell is short again. */
  reset(): void {
    this.justEnded = false;
    this.lengthMs = POOL_MS;
  }
}

export class SmallWritePolicy {
  private readonly pool = new Spell();
  private readonly ahead = new Spell();
  private count = 0;
  private sumMs = 0;
  /** Writes of the window that took AHEAD_MS or longer. */
  private slow = 0;
  /** Windows measured so far. */
  private windows = 0;

  /** `oneTrip`: the native addon's writer, where it is there. */
  constructor(
    readonly oneTrip?: WriteFileIn,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Times the policy sent small files to the pool (logs, tests). */
  get pauses(): number {
    return this.pool.times;
  }

  /** Times the policy had temporaries made ahead through the pool (logs, tests). */
  get aheads(): number {
    return this.ahead.times;
  }

  /** Should the small body that just ended be written in one go? */
  inOneGo(): boolean {
    return !this.pool.on(this.now());
  }

  /** Should a body written in one go have its temporary file made through the pool first? */
  createAhead(): boolean {
    return this.ahead.on(this.now());
  }

  /**
   * A write in one go took `ms` (it ended now, written or failed); `ahead`: its temporary was made
   * through the pool first, so only a stall counts.
   */
  took(ms: number, ahead = false): void {
    if (ahead) {
      if (ms >= STALL_MS) this.begin(this.pool);
      return;
    }
    this.count++;
    this.sumMs += ms;
    if (ms >= AHEAD_MS) this.slow++;
    if (ms >= STALL_MS || this.sumMs > SLOW_MEAN_MS * WINDOW_WRITES) {
      this.begin(this.pool);
      return;
    }
    if (this.count < WINDOW_WRITES) return;
    // A window quick enough for one go: the next pause to the pool starts short.
    this.pool.reset();
    const first = this.windows++ === 0;
    if (!first && this.slow * 2 > WINDOW_WRITES) {
      this.begin(this.ahead);
      return;
    }
    // Quick: plain one go pays again, and the next time of making ahead starts short too.
    this.ahead.reset();
    this.newWindow();
  }

  /** Starts `spell`; the window after it is measured afresh. */
  private begin(spell: Spell): void {
    spell.start(this.now());
    this.newWindow();
  }

  private newWindow(): void {
    this.count = 0;
    this.sumMs = 0;
    this.slow = 0;
  }
}
