/**
 * Memory does not grow with the number of objects: a restore of 200,000 tiny objects through the
 * bundle, under a heap cap far below what holding every object would need, with the live heap
 * sampled after full GCs (node --expose-gc and a preloaded probe). versitygw's posix backend
 * serves a plain directory, so the objects are seeded as files in seconds.
 *
 * Fails when the restore runs out of heap, or when the live heap grows by more than
 * MAX_GROWTH_PER_MILLION between the early and the late part of the transfer. KR_SCALE_OBJECTS
 * sets another object count (a multiple of 1,000), for a quick run on a busy machine.
 */
import { promises as fsp, writeFileSync } from 'node:fs';
import path from 'node:path';
import { useHarness } from './__testUtils__/harness';
import {
  heapGrowth,
  heapProbe,
  median,
  mib,
} from './__testUtils__/heapSamples';

const OBJECTS = Number(process.env.KR_SCALE_OBJECTS || 200_000);
const PER_DIR = 1000;
/** Old space cap for the job: far below what holding every listed object and its path needs. */
const HEAP_CAP_MB = 48;
/** Well under what keeping anything per object costs (a key and a path alone are ~100 bytes). */
const MAX_GROWTH_PER_MILLION = 20 * 1024 * 1024;

jest.setTimeout(1_800_000);

const h = useHarness({
  kind: 'versitygw',
  bucket: 'scale',
  name: 'scale',
  seed: async hh => {
    const root = path.join(hh.server.dataDir, 'scale', 'tiny');
    for (let d = 0; d < OBJECTS / PER_DIR; d++) {
      const dir = path.join(root, `d${String(d).padStart(4, '0')}`);
      await fsp.mkdir(dir, { recursive: true });
      for (let f = 0; f < PER_DIR; f++)
        writeFileSync(
          path.join(dir, `f${String(f).padStart(4, '0')}`),
          f % 10 === 0 ? '' : String(f),
        );
    }
  },
});

it(`restores ${OBJECTS} objects with a ${HEAP_CAP_MB} MiB heap, the live heap flat`, async () => {
  const target = await h.newTarget();
  const probe = await heapProbe(h.base, 'heap.jsonl', HEAP_CAP_MB);
  const run = await h.run({
    request: h.request({ prefix: 'tiny/' }),
    target,
    nodeArgs: probe.nodeArgs,
    env: probe.env,
    timeoutMs: 1_750_000,
  });
  expect(run.stderr).not.toMatch(/heap out of memory/);
  expect(run.termination).toMatchObject({
    phase: 'Succeeded',
    objects: OBJECTS,
  });
  // Transfers began while the listing still went on (and said so).
  expect(run.progress.some(p => p.listing === true && p.objectsDone > 0)).toBe(
    true,
  );
  expect(run.progress.at(-1)?.listing).toBeUndefined();

  const samples = await probe.samples(run);
  const { early, late, earlyHeap, lateHeap, growthPerMillion } = heapGrowth(
    samples,
    OBJECTS,
    [0.15, 0.35],
    [0.75, 0.98],
  );
  expect(early.length).toBeGreaterThan(3);
  expect(late.length).toBeGreaterThan(3);
  const heapNear = (done: number) =>
    median(
      samples
        .filter(s => Math.abs(s.done - done) <= OBJECTS * 0.02)
        .map(s => s.heap),
    );
  // The figures, for the benchmark's notes.
  process.stdout.write(
    `${JSON.stringify({
      objects: OBJECTS,
      heapEarlyMiB: mib(earlyHeap),
      heapLateMiB: mib(lateHeap),
      growthPerMillionMiB: mib(growthPerMillion),
      heapAtHalfMiB: mib(heapNear(OBJECTS / 2)),
      heapAtEndMiB: mib(heapNear(OBJECTS * 0.97)),
      peakRssMiB: mib(Math.max(...samples.map(s => s.rss))),
      seconds: Math.round(run.termination!.durationMs / 1000),
    })}\n`,
  );
  expect(growthPerMillion).toBeLessThan(MAX_GROWTH_PER_MILLION);
});
