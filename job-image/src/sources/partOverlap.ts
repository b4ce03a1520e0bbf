/**
 * When a ranged part is near enough to its end that its worker should send the next part's GET
 * (partWorkers.ts): when what is left of it would take no longer to arrive, at the rate it has
 * come so far, than its own GET took to answer. The next part's first byte then lands about as
 * this one's last does, so a stream does not idle a round trip between parts, which is what a far
 * region or a loaded server costs each part; near and idle, the moment is the last few KiB.
 */

/** Bytes of a part to see before its rate is trusted. */
export const OVERLAP_MIN_SEEN_BYTES = 1024 * 1024;

export class PartOverlap {
  private fired = false;

  /**
   * `answerMs`: how long the part's GET took to answer; `readFrom`: when its body began to be
   * read (ms, the clock `due` is given); `bytes`: the part's length.
   */
  constructor(
    private readonly answerMs: number,
    private readonly readFrom: number,
    private readonly bytes: number,
  ) {}

  /** True once, when `seen` bytes of the part have arrived at `now` and the next GET is due. */
  due(seen: number, now: number): boolean {
    if (this.fired || seen < OVERLAP_MIN_SEEN_BYTES) return false;
    const left = this.bytes - seen;
    // left / (seen / bodyMs) <= answerMs, without the division
    if (left * (now - this.readFrom) > seen * this.answerMs) return false;
    this.fired = true;
    return true;
  }
}
