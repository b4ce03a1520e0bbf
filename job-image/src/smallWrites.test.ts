import {
  AHEAD_MS,
  MAX_POOL_MS,
  POOL_MS,
  SLOW_MEAN_MS,
  SmallWritePolicy,
  STALL_MS,
  WINDOW_WRITES,
} from './smallWrites';

/** A policy on a clock the test moves. */
function policy() {
  let t = 1_000;
  const p = new SmallWritePolicy(undefined, () => t);
  /** `n` small files, each written in one go in `ms` when the policy says so, one every `every` ms. */
  const files = (n: number, ms: number, every = ms) => {
    let inOneGo = 0;
    for (let i = 0; i < n; i++) {
      t += every;
      if (p.inOneGo()) {
        p.took(ms, p.createAhead());
        inOneGo++;
      }
    }
    return inOneGo;
  };
  return { p, files, advance: (ms: number) => (t += ms) };
}

const BUDGET_MS = SLOW_MEAN_MS * WINDOW_WRITES;

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

  it('sends small files to the pool once slow writes have held the main thread for the budget, not a whole window later', () => {
    const { p, files, advance } = policy();
    // a network volume: every create waits for a round trip, below a stall each
    const slow = 5;
    const first = files(WINDOW_WRITES, slow);
    expect(first).toBe(Math.floor(BUDGET_MS / slow) + 1);
    expect(first * slow).toBeLessThan(BUDGET_MS + STALL_MS);
    expect(p.pauses).toBe(1);
    // during the pause no file goes in one go
    expect(files(100, slow, 5)).toBe(0);
    advance(POOL_MS);
    expect(p.inOneGo()).toBe(true);
  });

  it('doubles the pause while the writes after it are still slow, up to a cap, and starts short again after a quick window', () => {
    const { p, files, advance } = policy();
    const slow = SLOW_MEAN_MS + 1;
    const pauseLength = () => {
      let ms = 0;
      while (!p.inOneGo()) {
        advance(100);
        ms += 100;
      }
      return ms;
    };
    files(WINDOW_WRITES, slow);
    expect(pauseLength()).toBe(POOL_MS);
    files(WINDOW_WRITES, slow);
    expect(pauseLength()).toBe(2 * POOL_MS);
    files(WINDOW_WRITES, slow);
    expect(pauseLength()).toBe(4 * POOL_MS);
    for (let i = 0; i < 10; i++) {
      files(WINDOW_WRITES, slow);
      pauseLength();
    }
    files(WINDOW_WRITES, slow);
    expect(pauseLength()).toBe(MAX_POOL_MS);
    // a whole quick window: the next pause is the first length again
    expect(files(WINDOW_WRITES, 0.2)).toBe(WINDOW_WRITES);
    p.took(STALL_MS);
    expect(pauseLength()).toBe(POOL_MS);
  });

  it('stays in plain one go where files take a few hundredths of a millisecond (tmpfs)', () => {
    const { p, files } = policy();
    files(100 * WINDOW_WRITES, AHEAD_MS / 4);
    expect([p.aheads, p.pauses, p.createAhead()]).toEqual([0, 0, false]);
  });

  it('makes temporaries ahead for a while after a window of creates that are quick but not that quick, then measures plain one go again', () => {
    const { p, files, advance } = policy();
    const busyJournal = 0.6;
    // the restore's first window decides nothing (the code is cold then)
    expect(files(WINDOW_WRITES, busyJournal)).toBe(WINDOW_WRITES);
    expect(p.createAhead()).toBe(false);
    // the next one does, with its last write: from then on, ahead
    expect(files(WINDOW_WRITES, busyJournal)).toBe(WINDOW_WRITES);
    expect([p.aheads, p.createAhead(), p.inOneGo()]).toEqual([1, true, true]);
    // written ahead, the writes' own time does not count (the creates are not in it)
    files(10 * WINDOW_WRITES, busyJournal, 1);
    expect(p.aheads).toBe(1);
    advance(POOL_MS);
    expect(p.createAhead()).toBe(false);
    // still slow right after: twice as long
    files(WINDOW_WRITES, busyJournal);
    expect(p.aheads).toBe(2);
    advance(POOL_MS);
    expect(p.createAhead()).toBe(true);
    advance(POOL_MS);
    expect(p.createAhead()).toBe(false);
    // a quick window: plain one go, and the next time ahead is short again
    files(WINDOW_WRITES, AHEAD_MS / 4);
    expect(p.createAhead()).toBe(false);
    files(WINDOW_WRITES, busyJournal);
    advance(POOL_MS);
    expect([p.aheads, p.createAhead(), p.pauses]).toEqual([3, false, 0]);
  });

  it('does not make temporaries ahead for a few slow writes in a window (a new directory, a collection)', () => {
    const { p, files } = policy();
    for (let i = 0; i < 20; i++) {
      files(WINDOW_WRITES / 2, 2 * AHEAD_MS);
      files(WINDOW_WRITES / 2, AHEAD_MS / 4);
    }
    expect(p.aheads).toBe(0);
    // one write more of the slow kind in a window: most of it
    files(WINDOW_WRITES / 2 + 1, 2 * AHEAD_MS);
    files(WINDOW_WRITES / 2 - 1, AHEAD_MS / 4);
    expect(p.aheads).toBe(1);
  });

  it('sends files to the pool after a stall while making temporaries ahead', () => {
    const { p, files } = policy();
    files(2 * WINDOW_WRITES, 0.6);
    expect(p.createAhead()).toBe(true);
    p.took(STALL_MS - 1, true);
    expect(p.inOneGo()).toBe(true);
    p.took(STALL_MS, true);
    expect([p.inOneGo(), p.pauses]).toEqual([false, 1]);
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
    files(10, 10);
    p.took(STALL_MS);
    advance(POOL_MS);
    // 10 x 10 ms before the pause would have passed the budget with these
    files(WINDOW_WRITES, 0.5);
    expect(p.pauses).toBe(1);
    expect(p.inOneGo()).toBe(true);
  });
});
