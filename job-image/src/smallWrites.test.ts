import {
  POOL_MS,
  SLOW_MEAN_MS,
  SmallWritePolicy,
  STALL_MS,
  WINDOW_WRITES,
} from './smallWrites';

/** A policy on a clock the test moves. */
function policy() {
  let t = 1_000;
  const p = new SmallWritePolicy(() => t);
  /** `n` small files, each written in one go in `ms` when the policy says so, one every `every` ms. */
  const files = (n: number, ms: number, every = ms) => {
    let inOneGo = 0;
    for (let i = 0; i < n; i++) {
      t += every;
      if (p.inOneGo()) {
        p.took(ms);
        inOneGo++;
      }
    }
    return inOneGo;
  };
  return { p, files, advance: (ms: number) => (t += ms) };
}

describe('SmallWritePolicy', () => {
  it('writes in one go from the start (the first file of a restore too)', () => {
    expect(policy().p.inOneGo()).toBe(true);
  });

  it('stays in one go while the writes are quick, with outliers below a stall', () => {
    const { p, files } = policy();
    // a local volume: a few tenths of a millisecond, every 50th file 4 ms
    for (let i = 0; i < 100; i++) {
      files(49, 0.3);
      files(1, 4);
    }
    expect(p.pauses).toBe(0);
    expect(p.inOneGo()).toBe(true);
  });

  it('sends small files through the pool while writes are slow on average, then measures again', () => {
    const { p, files, advance } = policy();
    // a network volume: every create waits for a round trip
    const slow = SLOW_MEAN_MS + 1;
    expect(files(WINDOW_WRITES, slow)).toBe(WINDOW_WRITES);
    expect(p.pauses).toBe(1);
    expect(p.inOneGo()).toBe(false);
    // during the pause no file goes in one go
    expect(files(100, slow, 5)).toBe(0);
    advance(POOL_MS);
    expect(p.inOneGo()).toBe(true);
    // still slow: one more window in one go, then the pool again
    expect(files(WINDOW_WRITES * 2, slow)).toBe(WINDOW_WRITES);
    expect(p.pauses).toBe(2);
  });

  it('pauses at once after a single write that stalled', () => {
    const { p, advance } = policy();
    p.took(STALL_MS);
    expect(p.inOneGo()).toBe(false);
    advance(POOL_MS);
    expect(p.inOneGo()).toBe(true);
    p.took(0.2);
    expect(p.inOneGo()).toBe(true);
    expect(p.pauses).toBe(1);
  });

  it('starts a new window after a pause (slow writes before it do not count)', () => {
    const { p, files, advance } = policy();
    files(WINDOW_WRITES - 1, SLOW_MEAN_MS * 3);
    p.took(STALL_MS);
    advance(POOL_MS);
    // 63 quick writes, then one more: the mean of this window alone
    files(WINDOW_WRITES, 0.3);
    expect(p.pauses).toBe(1);
    expect(p.inOneGo()).toBe(true);
  });
});
