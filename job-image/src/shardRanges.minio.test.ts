/**
 * Shards that list only their share, against a real MinIO through the fault proxy, which logs every
 * request: with request.shards.bounds, shard i lists (bounds[i-1], bounds[i]] (StartAfter, or
 * KeyMarker for asOf) and stops at its last key, so all shards together issue about the LIST
 * requests of one pod; a request without bounds falls back to hash sharding and says so.
 */
import { compareKeys, type RestoreRequestInput } from '@kube-restore/common';
import { useHarness } from './__testUtils__/harness';
import { readTree, type JobRun } from './__testUtils__/job';

jest.setTimeout(600_000);

const KEYS = 20_000;
const SHARDS = 4;
const keyOf = (i: number) => `big/${String(i).padStart(6, '0')}.txt`;
const keys = Array.from({ length: KEYS }, (_, i) => keyOf(i)).sort(compareKeys);
/**
 * Every key is listed, one in ten is restored: the listing is what is measured, and downloading
 * 20,000 objects several times over would only make the test slow.
 */
const source = { prefix: 'big/', include: ['*7.txt'] };
const restored = (k: string) => k.endsWith('7.txt');
/** The keys of (after, last], as a shard with those bounds owns them. */
const between = (after: string | undefined, last: string | undefined) =>
  keys.filter(
    k =>
      (after === undefined || compareKeys(k, after) > 0) &&
      (last === undefined || compareKeys(k, last) <= 0),
  );

const h = useHarness({
  kind: 'minio',
  bucket: 'shards',
  viaProxy: true,
  name: 'sr',
  seed: async harness => {
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const key = keys[next++];
        await harness.server.put('shards', key, key);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    await harness.server.put('shards', 'few/a.txt', 'a');
    await harness.server.put('shards', 'few/b.txt', 'b');
    await harness.server.createBucket('shards-v', { versioned: true });
    for (let i = 0; i < 30; i++)
      await harness.server.put('shards-v', `v/${i}.txt`, `old ${i}`);
  },
});

/**
 * Bounds as core's sampler chooses them: near the equal shares, not on page boundaries (here
 * 7 keys past each quarter), so each shard's last page overshoots as it would in a real restore.
 */
const bounds = Array.from(
  { length: SHARDS - 1 },
  (_, i) => keys[((i + 1) * KEYS) / SHARDS + 7 - 1],
);

const listRequests = () =>
  h.proxy.log.filter(
    e =>
      e.method === 'GET' &&
      (/(^|&)list-type=2(&|$)/.test(e.query) ||
        /(^|&)versions(=|&|$)/.test(e.query)),
  );

async function runShards(
  request: RestoreRequestInput,
  target: string,
  indices = Array.from({ length: SHARDS }, (_, i) => i),
): Promise<JobRun[]> {
  return Promise.all(
    indices.map(i =>
      h.run({
        request,
        target,
        env: { JOB_COMPLETION_INDEX: String(i) },
        timeoutMs: 300_000,
      }),
    ),
  );
}

const logged = (run: JobRun, message: string) =>
  run.lines.filter(l => l.type === 'log' && l.msg === message);

it(`${SHARDS} shards with bounds issue at most 1.2x the LIST requests of one pod, and restore each key once`, async () => {
  const one = await h.run({
    request: h.request(source),
    target: await h.newTarget(),
    timeoutMs: 300_000,
  });
  expect(one.termination).toMatchObject({
    phase: 'Succeeded',
    objects: KEYS / 10,
  });
  // 20 pages; some servers (MinIO) answer the 20th as truncated and a 21st, empty one.
  const single = listRequests().length;
  expect(single).toBeGreaterThanOrEqual(KEYS / 1000);
  expect(single).toBeLessThanOrEqual(KEYS / 1000 + 1);
  h.proxy.clear();

  const target = await h.newTarget();
  const request = {
    ...h.request(source, { options: { parallelism: SHARDS } }),
    shards: { bounds },
  };
  const runs = await runShards(request, target);
  const lists = listRequests();
  for (const [i, run] of runs.entries()) {
    expect(run.termination).toMatchObject({
      phase: 'Succeeded',
      shard: { index: i, count: SHARDS },
    });
    expect(logged(run, "listing this shard's key range")).toHaveLength(1);
  }
  // Shard i writes exactly the keys of (bounds[i-1], bounds[i]].
  expect(runs.map(r => r.termination!.objects)).toEqual(
    runs.map(
      (_, i) => between(bounds[i - 1], bounds[i]).filter(restored).length,
    ),
  );
  expect((await readTree(target)).size).toBe(KEYS / 10);
  // Every shard but the first starts after its lower bound.
  expect(
    lists
      .map(e => new URLSearchParams(e.query).get('start-after'))
      .filter(Boolean),
  ).toEqual(expect.arrayContaining(bounds));
  console.log(
    `LIST requests for ${KEYS} keys: one pod ${single}, ${SHARDS} shards with bounds ${lists.length} (${(lists.length / single).toFixed(2)}x)`,
  );
  expect(lists.length).toBeLessThanOrEqual(1.2 * single);
});

it('a retried shard lists its own range again and resumes', async () => {
  const target = await h.newTarget();
  const request = {
    ...h.request(source, { options: { parallelism: SHARDS, concurrency: 2 } }),
    shards: { bounds },
  };
  // One object of the shard never arrives in the first attempt, which is stopped meanwhile.
  const range = between(bounds[1], bounds[2]);
  const held = range.filter(restored)[200];
  h.proxy.add({
    match: req => req.method === 'GET' && req.key === held,
    action: { type: 'stall', afterBytes: 0, ms: 0 },
  });
  const first = await h.run({
    request,
    target,
    env: { JOB_COMPLETION_INDEX: '2' },
    sigtermWhen: l => l.type === 'progress' && l.objectsDone >= 30,
    timeoutMs: 300_000,
  });
  expect(first.termination).toMatchObject({
    phase: 'Failed',
    code: 'CANCELLED',
  });
  h.proxy.clear();
  const [again] = await runShards(request, target, [2]);
  expect(again.termination).toMatchObject({ phase: 'Succeeded' });
  expect(again.termination!.objectsSkipped).toBeGreaterThanOrEqual(30);
  expect(again.termination!.objects + again.termination!.objectsSkipped).toBe(
    range.filter(restored).length,
  );
  // Its own range only: about its share of the pages, starting after its lower bound.
  const lists = listRequests();
  expect(lists.length).toBeLessThanOrEqual(Math.ceil(range.length / 1000) + 1);
  expect(new URLSearchParams(lists[0].query).get('start-after')).toBe(
    bounds[1],
  );
  const tree = await readTree(target);
  expect([...tree.keys()].sort(compareKeys)).toEqual(
    range.filter(restored).map(k => k.slice('big/'.length)),
  );
});

it('without bounds (an older Job), every shard lists the whole prefix and keeps its hash share, and says so', async () => {
  const target = await h.newTarget();
  const runs = await runShards(
    h.request(source, { options: { parallelism: SHARDS } }),
    target,
  );
  for (const run of runs) {
    expect(run.termination).toMatchObject({ phase: 'Succeeded' });
    expect(
      logged(
        run,
        'the request carries no shard bounds: every shard lists the whole prefix and keeps the keys that hash to it',
      ),
    ).toHaveLength(1);
  }
  expect(runs.reduce((n, r) => n + r.termination!.objects, 0)).toBe(KEYS / 10);
  const lists = listRequests();
  expect(lists.length).toBeGreaterThanOrEqual(SHARDS * (KEYS / 1000));
  expect(lists.filter(e => /start-after=/.test(e.query))).toHaveLength(0);
});

it('asOf: shards list versions from their key marker and stop at their last key', async () => {
  const asOf = new Date(Date.now() + 1000).toISOString();
  const target = await h.newTarget();
  const vkeys = Array.from({ length: 30 }, (_, i) => `v/${i}.txt`).sort(
    compareKeys,
  );
  const vbounds = [vkeys[9], vkeys[19]];
  const request = {
    ...h.request(
      { bucket: 'shards-v', prefix: 'v/', asOf },
      { options: { parallelism: 3 } },
    ),
    shards: { bounds: vbounds },
  };
  const runs = await runShards(request, target, [0, 1, 2]);
  expect(runs.map(r => r.termination?.objects)).toEqual([10, 10, 10]);
  const lists = listRequests();
  expect(lists).toHaveLength(3);
  expect(lists.filter(e => /key-marker=/.test(e.query))).toHaveLength(2);
  expect((await readTree(target)).size).toBe(30);
});

it('shards whose range holds nothing succeed with nothing, and the whole source is restored', async () => {
  // Two objects, four shards: core's sampler gives a bound just after the last key for the rest.
  const target = await h.newTarget();
  const request = {
    ...h.request({ prefix: 'few/' }, { options: { parallelism: 4 } }),
    shards: { bounds: ['few/a.txt', 'few/b.txt', 'few/b.txt\u0001'] },
  };
  const runs = await runShards(request, target);
  expect(runs.map(r => r.termination?.phase)).toEqual([
    'Succeeded',
    'Succeeded',
    'Succeeded',
    'Succeeded',
  ]);
  expect(runs.map(r => r.termination!.objects)).toEqual([1, 1, 0, 0]);
  expect(
    logged(runs[3], "this shard's key range holds no object to restore"),
  ).toHaveLength(1);
  expect([...(await readTree(target)).keys()].sort()).toEqual([
    'a.txt',
    'b.txt',
  ]);
});
