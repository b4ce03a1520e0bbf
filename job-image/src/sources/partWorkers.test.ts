import { runParts, SpareSlots } from './partWorkers';

/** A gate with `free` spare slots; records how many are out at most. */
class Slots implements SpareSlots {
  out = 0;
  peakOut = 0;
  largeWaiting = false;
  constructor(public free: number) {}
  takeSpareLarge(wanted: number): number {
    if (this.largeWaiting) return 0; // as InFlight: nothing is spare while an object waits
    const n = Math.max(0, Math.min(wanted, this.free));
    this.free -= n;
    this.out += n;
    this.peakOut = Math.max(this.peakOut, this.out);
    return n;
  }
  releaseLarge(): void {
    this.out--;
    this.free++;
  }
}

const tick = () => new Promise(r => setImmediate(r));

/** A fetch whose parts end when the test says so; records the order and the most at once. */
function controlled() {
  const started: number[] = [];
  const ends = new Map<number, { ok: () => void; fail: (e: Error) => void }>();
  const signals = new Map<number, AbortSignal>();
  const nears = new Map<number, () => void>();
  const afters = new Map<number, () => boolean>();
  let running = 0;
  let peak = 0;
  const fetch = (
    index: number,
    signal: AbortSignal,
    nearEnd?: () => void,
    after?: Promise<void>,
  ) =>
    new Promise<void>((resolve, reject) => {
      started.push(index);
      signals.set(index, signal);
      if (nearEnd) nears.set(index, nearEnd);
      if (after) {
        let ended = false;
        void after.then(() => (ended = true));
        afters.set(index, () => ended);
      }
      running++;
      peak = Math.max(peak, running);
      const done = () => {
        running--;
      };
      ends.set(index, {
        ok: () => {
          done();
          resolve();
        },
        fail: e => {
          done();
          reject(e);
        },
      });
    });
  return {
    fetch,
    started,
    signals,
    end: (i: number) => ends.get(i)!.ok(),
    near: (i: number) => nears.get(i)!(),
    /** Whether the part before `i` on its worker (what `i` reads its body after) has ended. */
    afterEnded: (i: number) => afters.get(i)!(),
    fail: (i: number, e: Error) => ends.get(i)!.fail(e),
    running: () => running,
    peak: () => peak,
  };
}

describe('runParts', () => {
  it('fetches every part once, in order, as many at once as spare slots allow', async () => {
    const slots = new Slots(2);
    const f = controlled();
    const all = runParts(7, 4, slots, new AbortController().signal, f.fetch);
    await tick();
    expect(f.started).toEqual([0, 1, 2]); // the object's own slot and 2 spare
    for (let i = 0; i < 7; i++) {
      f.end(i);
      await tick();
    }
    await all;
    expect(f.started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(f.peak()).toBe(3);
    expect(slots.out).toBe(0);
  });

  it('never runs more than `most`, however many slots are spare', async () => {
    const slots = new Slots(100);
    const f = controlled();
    const all = runParts(10, 3, slots, new AbortController().signal, f.fetch);
    for (let i = 0; i < 10; i++) {
      await tick();
      expect(f.running()).toBeLessThanOrEqual(3);
      f.end(i);
    }
    await all;
    expect(f.peak()).toBe(3);
    expect(slots.peakOut).toBe(2);
    expect(slots.out).toBe(0);
  });

  it('splits later when slots free up, and gives each back once no part is left for it', async () => {
    const slots = new Slots(0);
    const f = controlled();
    const all = runParts(4, 4, slots, new AbortController().signal, f.fetch);
    await tick();
    expect(f.started).toEqual([0]);
    slots.free = 5; // other objects finished
    f.end(0);
    await tick();
    expect(f.started).toEqual([0, 1, 2, 3]);
    expect(slots.peakOut).toBe(2); // exactly the parts left, none taken to be given back
    expect(slots.out).toBe(2);
    f.end(2); // its worker finds no part left: its slot goes back at once
    await tick();
    expect(slots.out).toBe(1);
    f.end(1);
    f.end(3);
    await all;
    expect(slots.out).toBe(0);
  });

  it('sends the next part as one nears its end, with at most two out per worker', async () => {
    const slots = new Slots(0);
    const f = controlled();
    const all = runParts(5, 4, slots, new AbortController().signal, f.fetch);
    await tick();
    expect(f.started).toEqual([0]);
    f.near(0);
    f.near(0); // told twice: one next part
    await tick();
    expect(f.started).toEqual([0, 1]);
    expect(f.afterEnded(0)).toBe(true);
    expect(f.afterEnded(1)).toBe(false); // part 1 reads its body after part 0
    f.near(1); // part 0 has not ended: part 2 waits for it
    await tick();
    expect(f.started).toEqual([0, 1]);
    f.end(0);
    await tick();
    expect(f.afterEnded(1)).toBe(true);
    expect(f.started).toEqual([0, 1, 2]);
    expect(f.afterEnded(2)).toBe(false);
    expect(f.running()).toBe(2);
    f.end(1);
    f.end(2); // ended without nearing its end: the next goes out as it ends, as before
    await tick();
    expect(f.started).toEqual([0, 1, 2, 3]);
    f.near(3);
    await tick();
    f.end(4);
    f.end(3);
    await all;
    expect(f.started).toEqual([0, 1, 2, 3, 4]);
    expect(f.peak()).toBe(2);
  });

  it('keeps a borrowed slot until the part it sent the next one beside has ended', async () => {
    const slots = new Slots(1);
    const f = controlled();
    let settled = false;
    const all = runParts(3, 2, slots, new AbortController().signal, f.fetch);
    all.finally(() => (settled = true));
    await tick();
    expect(f.started).toEqual([0, 1]); // part 1 on the borrowed slot
    f.near(1);
    await tick();
    expect(f.started).toEqual([0, 1, 2]);
    f.end(2); // no part left, but part 1 still arrives on the borrowed slot
    await tick();
    expect(slots.out).toBe(1);
    f.end(1);
    await tick();
    expect(slots.out).toBe(0);
    expect(settled).toBe(false);
    f.end(0);
    await all;
  });

  it('a part that fails after its next one was sent stops the rest', async () => {
    const slots = new Slots(0);
    const f = controlled();
    const all = runParts(6, 2, slots, new AbortController().signal, f.fetch);
    await tick();
    f.near(0);
    await tick();
    expect(f.started).toEqual([0, 1]);
    f.fail(0, new Error('part 0 broke'));
    await tick();
    expect(f.signals.get(1)!.aborted).toBe(true);
    f.near(1);
    f.fail(1, new Error('aborted'));
    await expect(all).rejects.toThrow('part 0 broke');
    expect(f.started).toEqual([0, 1]);
  });

  it('stops at the first error: no new part, the others aborted and awaited, slots back', async () => {
    const slots = new Slots(2);
    const f = controlled();
    let settled = false;
    const all = runParts(9, 3, slots, new AbortController().signal, f.fetch);
    all.catch(() => undefined).finally(() => (settled = true));
    await tick();
    f.fail(1, new Error('part 1 broke'));
    await tick();
    expect(f.signals.get(0)!.aborted).toBe(true);
    expect(f.started).toEqual([0, 1, 2]);
    expect(settled).toBe(false); // parts 0 and 2 still running
    f.fail(0, new Error('aborted'));
    f.end(2);
    await expect(all).rejects.toThrow('part 1 broke');
    expect(f.started).toEqual([0, 1, 2]);
    expect(slots.out).toBe(0);
  });

  it('ends as CANCELLED when the restore is stopped', async () => {
    const slots = new Slots(1);
    const f = controlled();
    const ac = new AbortController();
    const all = runParts(5, 2, slots, ac.signal, f.fetch);
    await tick();
    f.end(0);
    f.end(1);
    ac.abort();
    await expect(all).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(f.started).toEqual([0, 1]);
    expect(slots.out).toBe(0);
  });

  it('runs a lent slot from the start, and leaves giving it back to the caller', async () => {
    const slots = new Slots(0);
    const f = controlled();
    const all = runParts(3, 4, slots, new AbortController().signal, f.fetch, 1);
    await tick();
    expect(f.started).toEqual([0, 1]);
    f.end(0);
    f.end(1);
    await tick();
    f.end(2);
    await all;
    expect(slots.out).toBe(0); // nothing released that runParts did not take
    expect(slots.free).toBe(0);
  });

  it('gives a borrowed slot back after its part when a large object waits', async () => {
    const slots = new Slots(3);
    const f = controlled();
    const all = runParts(8, 4, slots, new AbortController().signal, f.fetch);
    await tick();
    expect(f.started).toEqual([0, 1, 2, 3]);
    slots.largeWaiting = true;
    f.end(1);
    f.end(2);
    await tick();
    expect(slots.out).toBe(1); // two borrowed slots back; no new part on them
    expect(f.started).toEqual([0, 1, 2, 3]);
    f.end(0); // the object's own worker goes on
    await tick();
    expect(f.started).toEqual([0, 1, 2, 3, 4]);
    slots.largeWaiting = false;
    for (const i of [3, 4, 5, 6, 7]) {
      f.end(i);
      await tick();
    }
    await all;
    expect(f.started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(slots.out).toBe(0);
  });

  it('treats a fetch that throws at once as a failed part, and still waits for the others', async () => {
    const slots = new Slots(1);
    const f = controlled();
    let settled = false;
    const fetch = (i: number, signal: AbortSignal) => {
      if (i === 1) throw new Error('no part 1');
      return f.fetch(i, signal);
    };
    const all = runParts(4, 2, slots, new AbortController().signal, fetch);
    all.catch(() => undefined).finally(() => (settled = true));
    await tick();
    expect(settled).toBe(false); // part 0 still runs
    expect(f.signals.get(0)!.aborted).toBe(true);
    f.end(0);
    await expect(all).rejects.toThrow('no part 1');
    expect(slots.out).toBe(0);
  });

  it('is CANCELLED when the restore stops mid-part, whatever the part threw', async () => {
    const slots = new Slots(1);
    const f = controlled();
    const ac = new AbortController();
    const all = runParts(4, 2, slots, ac.signal, f.fetch);
    await tick();
    ac.abort();
    f.fail(0, new Error('socket closed'));
    f.fail(1, new Error('socket closed'));
    await expect(all).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(slots.out).toBe(0);
  });
});
