/**
 * The live heap of a job run through the bundle, sampled after full GCs (scale.versitygw.test.ts,
 * scaleArchive.versitygw.test.ts): a probe preloaded with `node --expose-gc --require` appends a
 * sample every 100 ms; each sample is then set against the objects done at its time, interpolated
 * between the progress lines around it (one a second), and the heap's growth per million objects
 * is read between two bands of the run. A fast run still puts several samples in each band: with
 * the last progress line's count instead, every sample of a second shared one count, and a band
 * that only one line fell in could hold two samples (CI, a fast machine).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { JobRun } from './job';

/** Samples the live heap after a full GC every 100 ms, as JSON lines to $KR_HEAP_PROBE. */
const PROBE = `
const fs = require('node:fs');
const out = process.env.KR_HEAP_PROBE;
setInterval(() => {
  globalThis.gc();
  const m = process.memoryUsage();
  fs.appendFileSync(out, JSON.stringify({ t: Date.now(), heap: m.heapUsed, rss: m.rss }) + '\\n');
}, 100).unref();
`;

export interface HeapSample {
  /** When it was taken (ms since the epoch). */
  t: number;
  /** Live heap after a full GC, in bytes. */
  heap: number;
  rss: number;
  /** Objects (or entries) done at its time, between the progress lines around it. */
  done: number;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

/** Bytes in MiB, two decimals (for the figures a test prints). */
export const mib = (b: number) => Math.round((b / 1048576) * 100) / 100;

/** A heap probe for one run: what to give h.run, and how to read its samples afterwards. */
export interface HeapProbe {
  /** Node's flags: the old space cap, --expose-gc and the probe. */
  nodeArgs: string[];
  env: Record<string, string>;
  /** The samples of the run, each against the objects done then. */
  samples(run: JobRun): Promise<HeapSample[]>;
}

/** Writes the probe into `dir`; its samples go to `samplesName` there. */
export async function heapProbe(
  dir: string,
  samplesName: string,
  heapCapMb: number,
): Promise<HeapProbe> {
  const probe = path.join(dir, 'probe.cjs');
  const samplesFile = path.join(dir, samplesName);
  await fsp.writeFile(probe, PROBE);
  return {
    nodeArgs: [
      `--max-old-space-size=${heapCapMb}`,
      '--expose-gc',
      '--require',
      probe,
    ],
    env: { KR_HEAP_PROBE: samplesFile },
    samples: async run => {
      const progress = run.progress.map(p => ({
        t: Date.parse(p.ts),
        done: p.objectsDone as number,
      }));
      return (await fsp.readFile(samplesFile, 'utf8'))
        .trim()
        .split('\n')
        .map(l => JSON.parse(l))
        .map(s => ({ ...s, done: doneAt(progress, s.t) }));
    },
  };
}

/**
 * Objects done at `t`, from the progress lines (in time order): linear between the line before and
 * the line after, the last line's count past it, 0 before the first.
 */
export function doneAt(
  progress: Array<{ t: number; done: number }>,
  t: number,
): number {
  const next = progress.findIndex(p => p.t > t);
  if (next === -1) return progress.at(-1)?.done ?? 0;
  if (next === 0) return 0;
  const a = progress[next - 1];
  const b = progress[next];
  return a.done + ((b.done - a.done) * (t - a.t)) / (b.t - a.t);
}

/** The live heap between an early and a late band of a run (fractions of `total` done). */
export interface HeapGrowth {
  early: HeapSample[];
  late: HeapSample[];
  earlyHeap: number;
  lateHeap: number;
  /** Bytes of live heap gained per million objects done between the bands' medians. */
  growthPerMillion: number;
}

export function heapGrowth(
  samples: HeapSample[],
  total: number,
  early: [from: number, to: number],
  late: [from: number, to: number],
): HeapGrowth {
  const band = ([from, to]: [number, number]) =>
    samples.filter(s => s.done >= from * total && s.done < to * total);
  const earlySamples = band(early);
  const lateSamples = band(late);
  const earlyHeap = median(earlySamples.map(s => s.heap));
  const lateHeap = median(lateSamples.map(s => s.heap));
  const doneBetween =
    median(lateSamples.map(s => s.done)) -
    median(earlySamples.map(s => s.done));
  return {
    early: earlySamples,
    late: lateSamples,
    earlyHeap,
    lateHeap,
    growthPerMillion: ((lateHeap - earlyHeap) / doneBetween) * 1e6,
  };
}
