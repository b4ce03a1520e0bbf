/**
 * `--profile`: one run of the job per dataset under `node --cpu-prof`, summarised for RESULTS.md
 * (self time by function, main thread and hash workers apart), raw in bench/out/profiles.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { measure } from './measure';
import { CpuProfile, profileThreadId, summarizeProfile } from './profile';
import { fmt } from './report';
import { Context, jobCommand } from './tools';

const SOURCES = [
  ['(a)', { prefix: 'a/' }],
  ['(b)', { prefix: 'b/' }],
  ['(c)', { key: 'c/archive.tar.gz', format: 'tar' }],
] as const;

export async function profileSections(opts: {
  ctx: Context;
  only: Set<string>;
  jobEnv: Record<string, string>;
  outDir: string;
  workDir: string;
  target: string;
}): Promise<string[]> {
  const sections: string[] = [];
  for (const [id, source] of SOURCES) {
    if (!opts.only.has(id.slice(1, 2))) continue;
    const profDir = path.join(opts.outDir, 'profiles', id.replace(/[()]/g, ''));
    await fsp.rm(profDir, { recursive: true, force: true });
    await fsp.mkdir(profDir, { recursive: true });
    const t = opts.target;
    await fsp.rm(t, { recursive: true, force: true });
    await fsp.mkdir(t, { recursive: true });
    const cmd = jobCommand(opts.ctx, source, t, [
      '--cpu-prof',
      `--cpu-prof-dir=${profDir}`,
    ]);
    Object.assign(cmd.env, opts.jobEnv);
    const m = await measure(cmd, path.join(opts.workDir, 'time.out'), t);
    await fsp.rm(t, { recursive: true, force: true });
    // --cpu-prof writes one file per thread: the main thread (id 0) and each hash worker
    const byThread = new Map<number, CpuProfile>();
    for (const f of await fsp.readdir(profDir)) {
      const tid = profileThreadId(f);
      if (tid === undefined) continue;
      byThread.set(
        tid,
        JSON.parse(await fsp.readFile(path.join(profDir, f), 'utf8')),
      );
    }
    const mainThread = byThread.get(0);
    if (!mainThread)
      throw new Error(`no main-thread .cpuprofile in ${profDir}`);
    byThread.delete(0);
    const workers = [...byThread.values()];
    const workerTable =
      workers.length > 0
        ? `\n${workers.length} worker thread${workers.length > 1 ? 's' : ''} (hashing), samples summed:\n\n${summarizeProfile(workers, 8)}`
        : '';
    sections.push(
      `### CPU profile of the job on ${id} (node --cpu-prof; ${fmt(m.wallS, 2)} s wall, ${fmt(m.userS + m.sysS, 2)} s CPU)\n\n` +
        `Main thread:\n\n${summarizeProfile(mainThread, 15)}${workerTable}`,
    );
  }
  return sections;
}
