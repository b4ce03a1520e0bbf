/**
 * How long a lean request may wait for the first byte of its answer, its connection's set-up
 * included, before its connection is dropped and the request tried again (as S3's performance
 * guidance advises for requests that stall). A request whose packets were lost, or that a
 * server's accept queue dropped, otherwise waits for TCP's backoff or the idle timeout: tens of
 * seconds for a 4 KiB object, without a word in the log (seen when the test harness's pod network
 * lost packets, bench/README.md).
 *
 * The wait adapts to the server: never less than FIRST_ANSWER_MS, nor than ANSWER_MARGIN times the
 * slowest recent time to first byte of an object; each request that ran out of it doubles the
 * floor (a server slower than thought, such as a gateway to cold storage), up to the idle timeout,
 * which stays the bound on any wait.
 */
import type { FirstByteTimes } from '../inFlight';

/** The least wait (ms) for an answer. */
export const FIRST_ANSWER_MS = 10_000;
/** The wait is at least this many times the slowest recent time to first byte. */
export const ANSWER_MARGIN = 8;

export class AnswerDeadline {
  private floorMs: number;

  constructor(
    /** The idle timeout (ms): no wait is longer. */
    private readonly idleMs: number,
    private readonly times: FirstByteTimes,
  ) {
    this.floorMs = Math.min(idleMs, FIRST_ANSWER_MS);
  }

  /** The wait (ms) for the next request's first byte. */
  get ms(): number {
    const slowest = this.times.maxMs ?? 0;
    return Math.min(
      this.idleMs,
      Math.max(this.floorMs, ANSWER_MARGIN * slowest),
    );
  }

  /** A request ran out of its wait: the next ones wait twice as long. */
  missed(): void {
    this.floorMs = Math.min(this.idleMs, this.floorMs * 2);
  }
}
