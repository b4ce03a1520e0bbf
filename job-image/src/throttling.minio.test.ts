/**
 * S3 throttling against a real MinIO behind the fault proxy: a long run of 503 SlowDown with
 * Retry-After (60 s, as issue 27 asks; KUBE_RESTORE_TEST_SLOWDOWN_MS shortens it for a local run),
 * and a shorter one without Retry-After. The restore must succeed without hammering the server
 * (the proxy counts the requests it throttled) and its concurrency must come back afterwards.
 */
import { body, md5, useHarness } from './__testUtils__/harness';
import { readTree } from './__testUtils__/job';

const SLOWDOWN_MS = Number(process.env.KUBE_RESTORE_TEST_SLOWDOWN_MS ?? 60_000);

jest.setTimeout(SLOWDOWN_MS + 120_000);

const OBJECTS = 120;
const objects = new Map<string, Buffer>();
const h = useHarness({
  kind: 'minio',
  bucket: 'src',
  name: 'thr',
  viaProxy: true,
  async seed(harness) {
    for (let i = 0; i < OBJECTS; i++) {
      const b = body(i, 2000 + i);
      objects.set(`many/${String(i).padStart(3, '0')}.bin`, b);
      await harness.server.put('src', [...objects.keys()][i], b);
    }
  },
});

/**
 * Answers every object GET and HEAD with 503 SlowDown (and `headers`) for `ms` from the first one,
 * recording when each throttled request came.
 */
function slowDownFor(ms: number, headers?: Record<string, string>) {
  let until: number | undefined;
  const throttledAt: number[] = [];
  h.proxy.add({
    match: r => {
      if (r.key === undefined) return false;
      until ??= Date.now() + ms;
      if (Date.now() >= until) return false;
      throttledAt.push(Date.now());
      return true;
    },
    action: { type: 'status', status: 503, code: 'SlowDown', headers },
  });
  return throttledAt;
}

async function restoreAll(concurrency: number, maxDelayMs?: number) {
  const target = await h.newTarget();
  const run = await h.run({
    request: h.request({ prefix: 'many/' }, { options: { concurrency } }),
    target,
    options: {
      parts: { concurrency: 2 },
      ...(maxDelayMs ? { retry: { maxDelayMs } } : {}),
    },
    timeoutMs: SLOWDOWN_MS + 100_000,
  });
  expect(run.termination).toMatchObject({
    phase: 'Succeeded',
    objects: OBJECTS,
  });
  const tree = await readTree(target);
  expect(tree.size).toBe(OBJECTS);
  for (const [k, v] of objects) expect(md5(tree.get(k.slice(5))!)).toBe(md5(v));
  return run;
}

/** The limits the job logged: slowed down to one, then raised back to its maximum (4 x 2). */
function expectBackedOffAndRecovered(lines: Array<Record<string, any>>) {
  const slowed = lines.filter(
    l => l.msg === 'S3 is throttling: fewer requests at once',
  );
  const raised = lines.filter(
    l => l.msg === 'S3 requests at once raised again',
  );
  expect(slowed.map(l => l.limit)).toContain(1);
  expect(raised.at(-1)).toMatchObject({ limit: 8, max: 8 });
  // raised only after the last slow-down
  expect(lines.indexOf(raised.at(-1)!)).toBeGreaterThan(
    lines.indexOf(slowed.at(-1)!),
  );
}

it(`${SLOWDOWN_MS / 1000} s of SlowDown with Retry-After: 1: the restore succeeds, about one request a second meanwhile`, async () => {
  const throttledAt = slowDownFor(SLOWDOWN_MS, { 'retry-after': '1' });
  const started = Date.now();
  const run = await restoreAll(4);
  const seconds = SLOWDOWN_MS / 1000;
  // eslint-disable-next-line no-console
  console.log(`throttled requests in ${seconds} s: ${throttledAt.length}`);
  // everything waited for the throttling to end
  expect(Date.now() - started).toBeGreaterThanOrEqual(SLOWDOWN_MS);
  // Retry-After holds every request: the first burst (8 at once), then about one a second (68
  // measured in 60 s). Without the shared hold, 8 workers retrying every 0.1-0.2 s send thousands;
  // with the slot freed before the hold was set, two a second went (117).
  expect(throttledAt.length).toBeGreaterThanOrEqual(seconds / 2);
  expect(throttledAt.length).toBeLessThanOrEqual(8 + 1.5 * seconds);
  // after the first seconds, never more than 3 in any second
  const steady = throttledAt.filter(t => t - throttledAt[0] >= 5000);
  for (const t of steady)
    expect(
      steady.filter(u => u >= t && u < t + 1000).length,
    ).toBeLessThanOrEqual(3);
  expectBackedOffAndRecovered(run.lines);
});

it('10 s of SlowDown without Retry-After: a shared, growing hold keeps the requests few', async () => {
  const throttledAt = slowDownFor(10_000);
  // 16 objects at once; backoff up to 2 s (the harness's default is 0.2 s)
  const run = await restoreAll(16, 2000);
  // After the first burst, `limit` requests per shared hold (20 ms doubling to 1-2 s) while the
  // limit halves each second: about 50 measured. Each of the 16 workers backing off on its own
  // (no shared hold) sent 237.
  expect(throttledAt.length).toBeLessThanOrEqual(80);
  const slowed = run.lines.filter(
    l => l.msg === 'S3 is throttling: fewer requests at once',
  );
  expect(slowed.map(l => l.limit)).toContain(1);
});

it('SlowDown on the control calls (HeadObject while thawing): they wait for the shared throttle too', async () => {
  // 32 archived objects, polled 16 at a time while they thaw; every HEAD throttled for 10 s
  const archived = [...objects.keys()].slice(0, 32);
  for (const key of archived) h.proxy.archive(key, 'GLACIER', 1);
  let until: number | undefined;
  const throttledAt: number[] = [];
  h.proxy.add({
    match: r => {
      if (r.method !== 'HEAD' || !archived.includes(r.key ?? '')) return false;
      until ??= Date.now() + 10_000;
      if (Date.now() >= until) return false;
      throttledAt.push(Date.now());
      return true;
    },
    action: {
      type: 'status',
      status: 503,
      code: 'SlowDown',
      headers: { 'retry-after': '1' },
    },
  });
  const target = await h.newTarget();
  const run = await h.run({
    request: h.request({
      prefix: 'many/',
      archive: { tier: 'Bulk', pollSeconds: 1 },
    }),
    target,
    options: { concurrency: 16, parts: { concurrency: 1 } },
    timeoutMs: 100_000,
  });
  if (!run.termination) console.log(run.terminationRaw);
  expect(run.termination).toMatchObject({
    phase: 'Succeeded',
    objects: OBJECTS,
  });
  // eslint-disable-next-line no-console
  console.log(`throttled HEADs in 10 s: ${throttledAt.length}`);
  // The limit halves each second from 16 to 1 while Retry-After holds every request: about 16 +
  // 8 + 4 + 2 + 1 a second after that. HEADs that did not wait for the throttle (only for the
  // hold) came 16 at a time every second.
  expect(throttledAt.length).toBeGreaterThanOrEqual(16);
  expect(throttledAt.length).toBeLessThanOrEqual(60);
  const slowed = run.lines.filter(
    l => l.msg === 'S3 is throttling: fewer requests at once',
  );
  expect(slowed.map(l => l.limit)).toContain(1);
});
