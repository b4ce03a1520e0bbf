import { DEFAULT_CONCURRENCY, parseRestoreRequest } from '@kube-restore/common';
import {
  FirstByteTimes,
  InFlight,
  MAX_SMALL_IN_FLIGHT,
  SMALL_OBJECT_BYTES,
  smallObjectBound,
} from './inFlight';
import { tuningFrom } from './tuning';

/** Starts `n` downloads of `size` that end when `release` is called; counts those let in. */
function hold(gate: InFlight, n: number, size: number, signal: AbortSignal) {
  let running = 0;
  let release!: () => void;
  const released = new Promise<void>(r => {
    release = r;
  });
  const all = Array.from({ length: n }, () =>
    gate.run(size, signal, async () => {
      running++;
      await released;
    }),
  );
  return { running: () => running, release, all: Promise.allSettled(all) };
}

const tick = () => new Promise(r => setImmediate(r));

describe('InFlight', () => {
  it('bounds small objects by 16 times the concurrency, at most 256, never below the concurrency', () => {
    expect(smallObjectBound(16)).toBe(256);
    expect(smallObjectBound(4)).toBe(64);
    expect(smallObjectBound(1)).toBe(16);
    expect(smallObjectBound(100)).toBe(MAX_SMALL_IN_FLIGHT);
    expect(smallObjectBound(256)).toBe(256);
  });

  it('lets in the concurrency until a first byte was timed, then the bandwidth-delay product', async () => {
    const times = new FirstByteTimes();
    const gate = new InFlight(16, times);
    expect(gate.smallLimit).toBe(16);
    times.record(2); // nearby: no more than the concurrency
    expect(gate.smallLimit).toBe(16);
    times.record(20);
    expect(gate.smallLimit).toBe(16); // the least recent time counts: still 2 ms
    const far = new FirstByteTimes();
    far.record(20);
    expect(new InFlight(16, far).smallLimit).toBe(128); // 16 x 20 ms / 2.5 ms
    far.record(80);
    expect(new InFlight(16, far).smallLimit).toBe(128);
    const farther = new FirstByteTimes();
    farther.record(80);
    expect(new InFlight(16, farther).smallLimit).toBe(256);
    farther.record(400);
    expect(new InFlight(16, farther).smallLimit).toBe(256);
    expect(new InFlight(2, farther).smallLimit).toBe(32);
  });

  it('holds small objects to a concurrency the request set, whatever the round trip', async () => {
    const farther = new FirstByteTimes();
    farther.record(400);
    const told: number[] = [];
    const gate = new InFlight(4, farther, limit => told.push(limit), false);
    expect(gate.bound).toBe(4);
    expect(gate.smallLimit).toBe(4);
    expect(smallObjectBound(4, false)).toBe(4);
    const ac = new AbortController();
    const small = hold(gate, 10, 1000, ac.signal);
    await tick();
    expect(small.running()).toBe(4);
    expect(Math.max(0, ...told)).toBeLessThanOrEqual(4);
    small.release();
    await small.all;
    expect(gate.peakSmall).toBe(4);
    // the same gate at the default concurrency scales with the round trip
    expect(new InFlight(4, farther).smallLimit).toBe(64);
  });

  it('derives from the request whether small objects may scale: only the default concurrency does', () => {
    const request = (options: Record<string, unknown>) =>
      parseRestoreRequest({
        source: { bucket: 'bucket', prefix: 'p/' },
        target: { namespace: 'team-a', pvc: 'data' },
        options,
      });
    expect(tuningFrom(request({}))).toMatchObject({
      concurrency: DEFAULT_CONCURRENCY,
      smallScales: true,
    });
    // 16 is the default: requests stored while the schema filled it in carry it
    expect(tuningFrom(request({ concurrency: 16 }))).toMatchObject({
      concurrency: 16,
      smallScales: true,
    });
    expect(tuningFrom(request({ concurrency: 8 }))).toMatchObject({
      concurrency: 8,
      smallScales: false,
    });
    expect(tuningFrom(request({ concurrency: 64 }))).toMatchObject({
      concurrency: 64,
      smallScales: false,
    });
  });

  it('tells each new high of the small limit (the throttle follows it)', async () => {
    const times = new FirstByteTimes();
    const told: number[] = [];
    const gate = new InFlight(16, times, limit => told.push(limit));
    const signal = new AbortController().signal;
    await gate.run(1, signal, async () => undefined);
    times.record(20);
    await gate.run(1, signal, async () => undefined);
    await gate.run(1, signal, async () => undefined);
    await gate.run(SMALL_OBJECT_BYTES + 1, signal, async () => undefined);
    expect(told).toEqual([16, 128]);
  });

  it('forgets old times: the least of the last 32 counts', () => {
    const times = new FirstByteTimes();
    times.record(1);
    expect(times.minMs).toBe(1);
    for (let i = 0; i < 31; i++) times.record(40);
    // read between records: a new time is seen at once
    expect(times.minMs).toBe(1);
    times.record(40);
    expect(times.minMs).toBe(40);
    times.record(-1);
    times.record(NaN);
    expect(times.minMs).toBe(40);
  });

  it('holds large objects to the concurrency while small ones go by the round trip', async () => {
    const times = new FirstByteTimes();
    times.record(20);
    const gate = new InFlight(4, times);
    const signal = new AbortController().signal;
    const large = hold(gate, 10, SMALL_OBJECT_BYTES + 1, signal);
    const small = hold(gate, 40, SMALL_OBJECT_BYTES, signal);
    await tick();
    expect(large.running()).toBe(4);
    expect(small.running()).toBe(32); // 4 x 20 ms / 2.5 ms
    small.release();
    await small.all;
    expect(small.running()).toBe(40);
    expect(gate.peakSmall).toBe(32);
    large.release();
    await large.all;
    expect(large.running()).toBe(10);
  });

  it('a waiting download is dropped when the restore stops', async () => {
    const gate = new InFlight(1, new FirstByteTimes());
    const stop = new AbortController();
    const first = hold(gate, 1, 1e9, new AbortController().signal);
    await tick();
    let ran = false;
    const waiting = gate.run(1e9, stop.signal, async () => {
      ran = true;
    });
    stop.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
    first.release();
    await first.all;
    expect(ran).toBe(false);
    // the slot is free again (a leaked one would hold this forever)
    await gate.run(1e9, new AbortController().signal, async () => undefined);
  });

  it('lends spare large slots to split objects and gives them back to waiting ones', async () => {
    const gate = new InFlight(4, new FirstByteTimes());
    const ac = new AbortController();
    const two = hold(gate, 2, SMALL_OBJECT_BYTES + 1, ac.signal);
    await tick();
    expect(gate.takeSpareLarge(5)).toBe(2); // 4 - the 2 in flight
    expect(gate.takeSpareLarge(1)).toBe(0);
    const third = hold(gate, 1, SMALL_OBJECT_BYTES + 1, ac.signal);
    await tick();
    expect(third.running()).toBe(0); // every large slot is taken
    gate.releaseLarge();
    await tick();
    expect(third.running()).toBe(1);
    gate.releaseLarge();
    expect(gate.takeSpareLarge(3)).toBe(1);
    two.release();
    third.release();
    await Promise.all([two.all, third.all]);
    gate.releaseLarge();
    expect(gate.takeSpareLarge(9)).toBe(4);
    // a large object waiting: nothing is spare, and it is told
    const waiting = hold(gate, 1, SMALL_OBJECT_BYTES + 1, ac.signal);
    await tick();
    expect(gate.largeWaiting).toBe(true);
    gate.releaseLarge();
    await tick();
    expect(waiting.running()).toBe(1);
    expect(gate.largeWaiting).toBe(false);
    expect(gate.takeSpareLarge(1)).toBe(0); // 3 borrowed + the waiting one
    for (let i = 0; i < 3; i++) gate.releaseLarge();
    waiting.release();
    await waiting.all;
    expect(() => gate.releaseLarge()).toThrow(/given back twice/);
  });

  it('no longer counts a large object that stopped waiting', async () => {
    const gate = new InFlight(1, new FirstByteTimes());
    const first = hold(gate, 1, 1e9, new AbortController().signal);
    await tick();
    const ac = new AbortController();
    const second = hold(gate, 1, 1e9, ac.signal);
    await tick();
    expect(gate.largeWaiting).toBe(true);
    ac.abort();
    await second.all;
    expect(gate.largeWaiting).toBe(false);
    first.release();
    await first.all;
    expect(gate.takeSpareLarge(1)).toBe(1);
  });
});
