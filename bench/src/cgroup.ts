/**
 * A memory cgroup for the job, the way a pod's limit holds it: cgroup v1's memory controller
 * (memory.limit_in_bytes) or cgroup v2 (memory.max), whichever this host mounts. The command is
 * moved into it by a shell that then execs it, so its whole life is inside.
 */
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';

export interface MemoryCgroup {
  dir: string;
  v2: boolean;
  /** argv that runs `argv` inside the cgroup. */
  wrap(argv: string[]): string[];
  /** Peak usage (bytes, page cache included), OOM kills so far. */
  stats(): { peakBytes: number; oomKills: number };
  /** Starts the peak over (before each run). */
  resetPeak(): Promise<void>;
  remove(): Promise<void>;
}

export async function createMemoryCgroup(
  name: string,
  limitBytes: number,
): Promise<MemoryCgroup> {
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  const dir = v2
    ? path.join('/sys/fs/cgroup', name)
    : path.join('/sys/fs/cgroup/memory', name);
  await fsp.mkdir(dir, { recursive: true });
  if (v2) {
    await fsp.writeFile(path.join(dir, 'memory.max'), String(limitBytes));
    await fsp
      .writeFile(path.join(dir, 'memory.swap.max'), '0')
      .catch(() => undefined);
  } else {
    await fsp.writeFile(
      path.join(dir, 'memory.limit_in_bytes'),
      String(limitBytes),
    );
    // no swap either, where swap is accounted (a pod gets none)
    await fsp
      .writeFile(
        path.join(dir, 'memory.memsw.limit_in_bytes'),
        String(limitBytes),
      )
      .catch(() => undefined);
  }
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
  return {
    dir,
    v2,
    wrap: argv => [
      '/bin/sh',
      '-c',
      `echo $$ > '${path.join(dir, 'cgroup.procs')}' && exec "$@"`,
      'sh',
      ...argv,
    ],
    stats() {
      const peakBytes = Number(
        (v2 ? read('memory.peak') : read('memory.max_usage_in_bytes')).trim(),
      );
      const events = v2 ? read('memory.events') : read('memory.oom_control');
      const m = /oom_kill (\d+)/.exec(events);
      return { peakBytes, oomKills: m ? Number(m[1]) : 0 };
    },
    async resetPeak() {
      // v1: any write resets max_usage_in_bytes; v2: recent kernels reset memory.peak on a write
      await fsp
        .writeFile(
          path.join(dir, v2 ? 'memory.peak' : 'memory.max_usage_in_bytes'),
          v2 ? 'reset' : '0',
        )
        .catch(() => undefined);
    },
    async remove() {
      for (let i = 0; i < 50; i++) {
        try {
          await fsp.rmdir(dir);
          return;
        } catch {
          await new Promise(r => setTimeout(r, 100));
        }
      }
    },
  };
}
