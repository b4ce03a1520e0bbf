import { RestoreError } from './errors';
import { withRetry } from './retry';
import {
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  Throttle,
  ThrottleEvent,
} from './throttle';

/** A throttle on a clock the test moves. */
function clocked(max: number, budgetMs = 60_000) {
  let now = 0;
  const events: ThrottleEvent[] = [];
  const throttle = new Throttle({
    max,
    budgetMs,
    now: () => now,
    onChange: e => events.push(e),
  });
  return {
    throttle,
    events,
    at(ms: number) {
      now = ms;
    },
  };
}

const slowDown = (retryAfter?: string) =>
  Object.assign(new Error('Please reduce your request rate.'), {
    name: 'SlowDown',
    Code: 'SlowDown',
    $metadata: { httpStatusCode: 503 },
    ...(retryAfter !== undefined ? { retryAfter } : {}),
  });

describe('Throttle', () => {
  it('raiseMax lifts a limit at its most with it; a throttled one recovers towards the new most', async () => {
    const c = clocked(4);
    c.throttle.raiseMax(2); // never lowered
    expect(c.throttle.limit).toBe(4);
    c.throttle.raiseMax(64);
    expect(c.throttle.limit).toBe(64);
    for (let i = 0; i < 64; i++) await c.throttle.acquire();
    for (let i = 0; i < 64; i++) c.throttle.release();
    c.throttle.onThrottled();
    expect(c.throttle.limit).toBe(32);
    c.throttle.raiseMax(128);
    expect(c.throttle.limit).toBe(32);
    for (let i = 0; i < 32; i++) c.throttle.onSuccess();
    expect(c.events.at(-1)).toMatchObject({
      kind: 'recovered',
      limit: 33,
      max: 128,
    });
  });

  it('raiseMax does not lift a limit of one that is backing off from throttling', () => {
    const c = clocked(1);
    c.throttle.onThrottled(); // halving one leaves one: still backing off
    c.throttle.raiseMax(16);
    expect(c.throttle.limit).toBe(1);
    c.throttle.onSuccess(); // a run of one success: recovered by one
    expect(c.throttle.limit).toBe(2);
    const d = clocked(1);
    d.throttle.onThrottled();
    d.throttle.onSuccess(); // recovered at its most before the raise: goes up with it
    d.throttle.raiseMax(16);
    expect(d.throttle.limit).toBe(16);
  });

  it('halves the requests at once on throttling, at most once a second, never below one', () => {
    const c = clocked(16);
    const limits: number[] = [];
    for (let t = 0; t <= 6000; t += 250) {
      c.at(t);
      c.throttle.onThrottled();
      limits.push(c.throttle.limit);
    }
    // a burst of 503s within a second counts once
    expect(limits.slice(0, 4)).toEqual([8, 8, 8, 8]);
    expect(limits[4]).toBe(4);
    expect(c.throttle.limit).toBe(1);
    expect(c.events.map(e => e.limit)).toEqual([8, 4, 2, 1]);
  });

  it('recovers by one for each run of `limit` successes, back to the maximum and no further', () => {
    const c = clocked(8);
    for (let t = 0; t < 4000; t += 1000) {
      c.at(t);
      c.throttle.onThrottled();
    }
    expect(c.throttle.limit).toBe(1);
    let successes = 0;
    while (c.throttle.limit < 8) {
      c.throttle.onSuccess();
      successes++;
    }
    // 1 + 2 + ... + 7 successes to climb from 1 to 8
    expect(successes).toBe(28);
    for (let i = 0; i < 100; i++) c.throttle.onSuccess();
    expect(c.throttle.limit).toBe(8);
    expect(c.events.at(-1)).toEqual({ kind: 'recovered', limit: 8, max: 8 });
  });

  it('holds every new request for a Retry-After, capped at five minutes', () => {
    const c = clocked(4);
    c.throttle.onThrottled(2000);
    expect(c.throttle.heldFor()).toBe(2000);
    c.at(1500);
    expect(c.throttle.heldFor()).toBe(500);
    // a shorter one does not shorten the hold
    c.throttle.onThrottled(100);
    expect(c.throttle.heldFor()).toBe(500);
    c.at(2000);
    expect(c.throttle.heldFor()).toBe(0);
    c.throttle.onThrottled(3_600_000);
    expect(c.throttle.heldFor()).toBe(MAX_RETRY_AFTER_MS);
  });

  it('without Retry-After, holds new requests for a doubling, jittered time, reset by a success', () => {
    const throttle = new Throttle({
      max: 4,
      budgetMs: 60_000,
      now: () => 0,
      backoff: { baseMs: 100, maxMs: 1000 },
      random: () => 1,
    });
    const holds = [1, 2, 3, 4, 5, 6].map(() => {
      throttle.onThrottled();
      return throttle.heldFor();
    });
    expect(holds).toEqual([100, 200, 400, 800, 1000, 1000]);
    throttle.onSuccess();
    const half = new Throttle({
      max: 4,
      budgetMs: 60_000,
      now: () => 0,
      backoff: { baseMs: 100, maxMs: 1000 },
      random: () => 0,
    });
    half.onThrottled();
    expect(half.heldFor()).toBe(50);
  });

  it('allows retries while throttling has lasted less than its budget since the last success', () => {
    const c = clocked(4, 60_000);
    c.throttle.onThrottled();
    c.at(59_999);
    c.throttle.onThrottled();
    expect(c.throttle.withinBudget()).toBe(true);
    c.at(60_000);
    expect(c.throttle.withinBudget()).toBe(false);
    c.throttle.onSuccess();
    expect(c.throttle.withinBudget()).toBe(true);
    c.at(100_000);
    c.throttle.onThrottled();
    c.at(159_999);
    expect(c.throttle.withinBudget()).toBe(true);
  });

  it('lets `limit` requests start at once, the next ones in order as slots free up', async () => {
    const throttle = new Throttle({ max: 2, budgetMs: 1000 });
    const started: number[] = [];
    await throttle.acquire();
    await throttle.acquire();
    const waiting = [3, 4].map(n =>
      throttle.acquire().then(() => started.push(n)),
    );
    const stop = new AbortController();
    const aborted = throttle.acquire(stop.signal);
    await new Promise(r => setImmediate(r));
    expect(started).toEqual([]);
    stop.abort(new Error('stopped'));
    await expect(aborted).rejects.toThrow('stopped');
    throttle.release();
    await waiting[0];
    expect(started).toEqual([3]);
    throttle.release();
    await waiting[1];
    expect(started).toEqual([3, 4]);
  });
});

describe('withRetry under throttling', () => {
  const policy = (throttle?: Throttle) => ({
    attempts: 3,
    baseMs: 1,
    maxMs: 5,
    throttle,
  });

  it('retries a throttled call past its attempts while the budget lasts', async () => {
    const throttle = new Throttle({ max: 4, budgetMs: 60_000 });
    let calls = 0;
    const result = await withRetry(async () => {
      if (++calls <= 10) throw slowDown();
      return 'ok';
    }, policy(throttle));
    expect(result).toBe('ok');
    expect(calls).toBe(11);
    // without a throttle, three attempts and THROTTLED
    calls = 0;
    await expect(
      withRetry(async () => {
        if (++calls <= 10) throw slowDown();
        return 'ok';
      }, policy()),
    ).rejects.toMatchObject({ code: 'THROTTLED' });
    expect(calls).toBe(3);
  });

  it('gives up with THROTTLED once throttling outlasts the budget', async () => {
    const throttle = new Throttle({ max: 4, budgetMs: 30 });
    const error = await withRetry(async () => {
      throw slowDown();
    }, policy(throttle)).catch(e => e as RestoreError);
    expect(error).toBeInstanceOf(RestoreError);
    expect(error.code).toBe('THROTTLED');
    expect(error.message).toMatch(/^S3 throttled every request for \d+ s/);
  });

  it('waits out a Retry-After before the next try', async () => {
    const throttle = new Throttle({ max: 4, budgetMs: 60_000 });
    const delays: number[] = [];
    let calls = 0;
    const t = Date.now();
    await withRetry(
      async () => {
        if (++calls === 1) throw slowDown('1');
        return 'ok';
      },
      policy(throttle),
      { onRetry: (_e, _n, delay) => delays.push(delay) },
    );
    expect(delays[0]).toBeGreaterThanOrEqual(990);
    expect(Date.now() - t).toBeGreaterThanOrEqual(990);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates, and nothing else', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(
      parseRetryAfter(
        'Sat, 05 Dec 2026 12:00:10 GMT',
        Date.UTC(2026, 11, 5, 12),
      ),
    ).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
