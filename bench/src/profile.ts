/** Summaries of V8 CPU profiles (`node --cpu-prof`): self time by function, heaviest first. */

export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
  }>;
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  name: string;
  selfMs: number;
  share: number;
}

/**
 * The thread a `node --cpu-prof` file belongs to, from its name
 * (`CPU.<date>.<time>.<pid>.<thread id>.<sequence>.cpuprofile`): 0 is the main thread, every
 * worker thread writes its own file. Undefined for a name of another form.
 */
export function profileThreadId(fileName: string): number | undefined {
  const m = /^CPU\.\d+\.\d+\.\d+\.(\d+)\.\d+\.cpuprofile$/.exec(fileName);
  return m ? Number(m[1]) : undefined;
}

/**
 * Self time per function (name and file:line), from the samples and their time deltas; with
 * several profiles (threads of one process), summed over all of them.
 */
export function selfTimes(profiles: CpuProfile | CpuProfile[]): SelfTime[] {
  const totals = new Map<string, number>();
  let sum = 0;
  for (const profile of Array.isArray(profiles) ? profiles : [profiles]) {
    const byId = new Map(profile.nodes.map(n => [n.id, n]));
    const samples = profile.samples ?? [];
    const deltas = profile.timeDeltas ?? [];
    for (let i = 0; i < samples.length; i++) {
      const node = byId.get(samples[i]);
      if (!node) continue;
      // a sample's delta is the time since the previous sample; attribute it to this one
      const us = Math.max(0, deltas[i] ?? 0);
      const f = node.callFrame;
      const file = f.url ? f.url.split('/').pop() : '';
      const name = `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
      totals.set(name, (totals.get(name) ?? 0) + us);
      sum += us;
    }
  }
  return [...totals.entries()]
    .map(([name, us]) => ({
      name,
      selfMs: us / 1000,
      share: sum > 0 ? us / sum : 0,
    }))
    .sort((a, b) => b.selfMs - a.selfMs);
}

export function summarizeProfile(
  profiles: CpuProfile | CpuProfile[],
  top = 15,
): string {
  const rows = selfTimes(profiles).slice(0, top);
  return [
    '| function | self ms | share |',
    '|---|---:|---:|',
    ...rows.map(
      r =>
        `| \`${r.name.replace(/\|/g, '\\|')}\` | ${r.selfMs.toFixed(0)} | ${(r.share * 100).toFixed(1)}% |`,
    ),
    '',
  ].join('\n');
}

/**
 * The largest JS heap left after a full garbage collection, in MB, from `node --trace-gc` output
 * (lines like `... Mark-Compact 45.1 (60.2) -> 30.4 (61.0) MB, ...`): the live data a process held
 * at its peak, which peak RSS hides under garbage V8 had not collected yet. Undefined when no full
 * collection ran.
 */
export function liveHeapAfterGcMB(traceGc: string): number | undefined {
  let max: number | undefined;
  for (const m of traceGc.matchAll(
    /Mark-Compact(?: \([a-z ]+\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/g,
  )) {
    const after = Number(m[1]);
    if (max === undefined || after > max) max = after;
  }
  return max;
}
