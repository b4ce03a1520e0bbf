/**
 * Memory does not grow with the number of entries in an archive, nor with what the volume held
 * before the restore: through the bundle, under a heap cap far below what holding every path
 * would need, with the live heap sampled after full GCs (as scale.versitygw.test.ts does for
 * objects).
 *
 * - A tar of ENTRIES small files (entries in no sorted order) onto a volume that already holds
 *   PREEXISTING files: both pass the limit past which the paths an archive claimed and wrote, and
 *   the record of what the volume held, move to the scratch directory. Fails on running out of heap,
 *   or on a growth of more than MAX_GROWTH_PER_MILLION between a band after that limit and the end.
 * - A retried restore whose record of what the volume held names a million inodes (as a first
 *   attempt on a volume of a million files writes it): read into memory, it would not fit the cap.
 *
 * KR_SCALE_TAR_ENTRIES sets another entry count (a multiple of 1,000), for a quick run on a busy
 * machine.
 */
import { createWriteStream, promises as fsp, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { useHarness } from './__testUtils__/harness';
import {
  heapGrowth,
  HeapSample,
  heapProbe,
  mib,
} from './__testUtils__/heapSamples';
import type { JobRun } from './__testUtils__/job';

const ENTRIES = Number(process.env.KR_SCALE_TAR_ENTRIES || 80_000);
const PER_DIR = 1000;
/** Files the volume holds before the restore: past the limit where that record moves to disk. */
const PREEXISTING = 30_000;
/** Old space cap for the job: far below what holding every path needs. */
const HEAP_CAP_MB = 48;
/** Well under what keeping anything per entry costs (a path alone is ~100 bytes). */
const MAX_GROWTH_PER_MILLION = 20 * 1024 * 1024;

jest.setTimeout(900_000);

/** The volume holds data already: what was there is kept. */
const SKIP_EXISTING = {
  namespace: 'team-a',
  pvc: 'data',
  mode: 'existing' as const,
  conflict: 'skip-existing' as const,
};

/** Directory d of the big archive: names in no sorted order, as `tar c` lists a directory. */
const dirName = (d: number) =>
  `data/dir-${((d * 2654435761) >>> 0).toString(36)}`;
const entryName = (i: number) =>
  `${dirName(Math.floor(i / PER_DIR))}/file-${String((i * 7919) % PER_DIR).padStart(5, '0')}.txt`;
const entryBody = (i: number) => (i % 10 === 0 ? '' : `entry ${i}\n`);

/** Writes a tar of `count` entries to `file` as a stream (backpressure from the file). */
async function writeArchive(
  file: string,
  count: number,
  name: (i: number) => string,
  body: (i: number) => string,
) {
  const pack = tar.pack();
  const done = pipeline(pack, createWriteStream(file));
  for (let i = 0; i < count; i++) {
    pack.entry({ name: name(i), mtime: new Date(0) }, body(i));
    // Let the file take what is packed (the pack buffers what it is given).
    if (i % 500 === 499) await new Promise(resolve => setImmediate(resolve));
  }
  pack.finalize();
  await done;
}

const h = useHarness({
  kind: 'versitygw',
  bucket: 'scale',
  name: 'scale-tar',
  seed: async hh => {
    const dir = path.join(hh.server.dataDir, 'scale');
    await writeArchive(
      path.join(dir, 'many.tar'),
      ENTRIES,
      entryName,
      entryBody,
    );
    await writeArchive(
      path.join(dir, 'few.tar'),
      1000,
      i => ['keep.txt', 'mine.txt'][i] ?? `few/f${i}`,
      i => `from the archive ${i}\n`,
    );
  },
});

/** Runs the bundle under the heap cap with the probe; returns the run and its samples. */
async function runCapped(
  request: ReturnType<typeof h.request>,
  target: string,
): Promise<{ run: JobRun; samples: HeapSample[] }> {
  const probe = await heapProbe(
    h.base,
    `heap-${path.basename(target)}.jsonl`,
    HEAP_CAP_MB,
  );
  const run = await h.run({
    request,
    target,
    nodeArgs: probe.nodeArgs,
    env: probe.env,
    timeoutMs: 850_000,
  });
  expect(run.stderr).not.toMatch(/heap out of memory/);
  const samples = await probe.samples(run);
  return { run, samples };
}

it(`extracts a tar of ${ENTRIES} entries onto a volume of ${PREEXISTING} files with a ${HEAP_CAP_MB} MiB heap, the live heap flat`, async () => {
  const target = await h.newTarget();
  for (let d = 0; d < PREEXISTING / PER_DIR; d++) {
    const dir = path.join(target, 'before', `d${d}`);
    await fsp.mkdir(dir, { recursive: true });
    for (let f = 0; f < PER_DIR; f++)
      writeFileSync(path.join(dir, `f${f}`), '');
  }
  // A file of the volume's where the archive has one: skip-existing leaves it alone.
  const users = path.join(target, entryName(7));
  await fsp.mkdir(path.dirname(users), { recursive: true });
  await fsp.writeFile(users, 'the user wrote this\n');

  const { run, samples } = await runCapped(
    h.request({ key: 'many.tar' }, { target: SKIP_EXISTING }),
    target,
  );
  expect(run.termination).toMatchObject({ phase: 'Succeeded' });
  expect(await fsp.readFile(users, 'utf8')).toBe('the user wrote this\n');
  for (const i of [0, 1, ENTRIES / 2 + 3, ENTRIES - 1])
    expect(await fsp.readFile(path.join(target, entryName(i)), 'utf8')).toBe(
      entryBody(i),
    );
  expect((await fsp.readdir(path.join(target, 'data'))).length).toBe(
    ENTRIES / PER_DIR,
  );

  // Both bands lie past the limit where the paths move to the scratch directory.
  const { early, late, earlyHeap, lateHeap, growthPerMillion } = heapGrowth(
    samples,
    ENTRIES,
    [0.35, 0.5],
    [0.8, 0.98],
  );
  expect(early.length).toBeGreaterThan(3);
  expect(late.length).toBeGreaterThan(3);
  // The figures, for the benchmark's notes.
  process.stdout.write(
    `${JSON.stringify({
      entries: ENTRIES,
      samples: { early: early.length, late: late.length },
      preexisting: PREEXISTING,
      heapEarlyMiB: mib(earlyHeap),
      heapLateMiB: mib(lateHeap),
      growthPerMillionMiB: mib(growthPerMillion),
      peakRssMiB: mib(Math.max(...samples.map(s => s.rss))),
      seconds: Math.round(run.termination!.durationMs / 1000),
    })}\n`,
  );
  expect(growthPerMillion).toBeLessThan(MAX_GROWTH_PER_MILLION);
});

it(`retries a restore whose record of the volume names a million inodes, with a ${HEAP_CAP_MB} MiB heap`, async () => {
  const target = await h.newTarget();
  const request = h.request({ key: 'few.tar' }, { target: SKIP_EXISTING });
  const keep = path.join(target, 'keep.txt');
  const mine = path.join(target, 'mine.txt');
  await fsp.writeFile(keep, 'the user wrote this\n');
  await fsp.writeFile(mine, 'an earlier attempt wrote this\n');
  const keepIno = (await fsp.lstat(keep)).ino;
  const mineIno = (await fsp.lstat(mine)).ino;
  // What an earlier attempt of this restore left: its claim, and the record it took of a volume
  // of a million files (keep.txt among them, mine.txt not: that attempt wrote it).
  const state = path.join(target, '.kube-restore');
  await fsp.mkdir(state);
  await fsp.writeFile(
    path.join(state, 'restore-id'),
    `${request.name}\nshards 1\n`,
  );
  const lines: string[] = [];
  for (let i = 0, ino = 1_000_003; i < 1_000_000; i++, ino += 7) {
    if (ino === mineIno) continue;
    lines.push(String(i === 500_000 ? keepIno : ino));
    if (lines.length === 100_000)
      await fsp.appendFile(
        path.join(state, `preexisting-${request.name}`),
        `${lines.splice(0).join('\n')}\n`,
      );
  }
  await fsp.appendFile(
    path.join(state, `preexisting-${request.name}`),
    lines.length ? `${lines.join('\n')}\n` : '',
  );

  const { run, samples } = await runCapped(request, target);
  expect(run.termination).toMatchObject({ phase: 'Succeeded' });
  expect(run.stdout).toMatch(/resuming an earlier attempt/);
  expect(await fsp.readFile(keep, 'utf8')).toBe('the user wrote this\n');
  expect(await fsp.readFile(mine, 'utf8')).toBe('from the archive 1\n');
  expect(await fsp.readFile(path.join(target, 'few/f999'), 'utf8')).toBe(
    'from the archive 999\n',
  );
  process.stdout.write(
    `${JSON.stringify({
      recordInodes: 1_000_000,
      heapMaxMiB: mib(Math.max(...samples.map(s => s.heap))),
      peakRssMiB: mib(Math.max(...samples.map(s => s.rss))),
      seconds: Math.round(run.termination!.durationMs / 1000),
    })}\n`,
  );
});
