/**
 * Preloaded into the job's process by the --scale run (`node --expose-gc --require
 * bench/dist/heap-probe.cjs`): it reads the job's own progress lines on stdout and, the first time
 * objectsDone reaches each count of KUBE_RESTORE_BENCH_HEAP_AT (comma-separated), runs two full
 * GCs and appends the live heap to KUBE_RESTORE_BENCH_HEAP_FILE as a JSON line. The job is not
 * changed; the probe costs two GCs per count.
 */
import { appendFileSync } from 'node:fs';
import * as v8 from 'node:v8';

const file = process.env.KUBE_RESTORE_BENCH_HEAP_FILE;
const pending = (process.env.KUBE_RESTORE_BENCH_HEAP_AT ?? '')
  .split(',')
  .map(Number)
  .filter(n => n > 0)
  .sort((a, b) => a - b);
const gc = (globalThis as { gc?: () => void }).gc;

function sample(at: number, objectsDone: number): void {
  gc?.();
  gc?.();
  appendFileSync(
    file!,
    `${JSON.stringify({
      at,
      objectsDone,
      usedHeapBytes: v8.getHeapStatistics().used_heap_size,
      rssBytes: process.memoryUsage.rss(),
      gc: Boolean(gc),
    })}\n`,
  );
}

if (file && pending.length) {
  const write = process.stdout.write.bind(process.stdout);
  let carry = '';
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = carry + String(chunk);
    const lines = text.split('\n');
    carry = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('"progress"')) continue;
      let done: number | undefined;
      try {
        done = JSON.parse(line).objectsDone;
      } catch {
        continue;
      }
      while (typeof done === 'number' && pending.length && done >= pending[0])
        sample(pending.shift()!, done);
    }
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
}
