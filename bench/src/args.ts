/**
 * The benchmark's command line: which mode (the loopback datasets, the emulated region, the
 * many-object scale run), which datasets and tools, and the tuning knobs. See bench/README.md.
 */
import * as path from 'node:path';

export type Mode = 'loopback' | 'region' | 'scale';

export interface Args {
  mode: Mode;
  quick: boolean;
  reps: number;
  seed: number;
  concurrency: number;
  only: Set<string>;
  /** --only was given (the region mode's settings default otherwise). */
  onlyGiven: boolean;
  profile: boolean;
  keepWork: boolean;
  /** Only these rows (labels starting with these words), e.g. `job,mc`; default all. */
  tools?: string[];
  /** Another job bundle (default: job-image/dist/restore-job.cjs, built first). */
  jobBundle?: string;
  /** A second job bundle run beside the first in the same interleaved runs (a `variant` row). */
  jobBaseline?: string;
  /** Extra environment for the job (tuning experiments), from --job-env K=V (repeatable). */
  jobEnv: Record<string, string>;
  /** Where targets are written (default: the cache directory's filesystem). */
  workRoot?: string;
  /** --scale: the number of small objects (default 100,000; the figure is 1,000,000). */
  objects: number;
  /** --scale: the memory limit of the job's cgroup in MiB (the pod's default limit). */
  memoryMiB: number;
  /**
   * --scale: the include glob of the LIST-count runs (--list-include). LIST requests do not depend
   * on what the filter keeps, so a glob keeping few objects counts a large prefix's LISTs without
   * downloading it three more times.
   */
  listInclude?: string;
}

export const USAGE = `usage: npm run bench -- [--quick] [--region | --scale [N]] [options]
  modes:   (default) loopback datasets (a)-(d), start-up, cluster latency
           --region        emulated region: 20 ms and 80 ms round trips, a bandwidth cap, HTTPS
           --scale [N]     N small objects (default 100000) on versitygw, the job under a memory cgroup
  options: --reps N  --seed N  --concurrency N  --only a,b,c,d,startup,cluster  --tools job,mc,...
           --only with --region: a, b and settings rtt20, rtt80, https20, https80
             (default a,b,rtt20,rtt80,https20)
           --profile  --keep-work  --job-bundle FILE  --job-env NAME=value  --work DIR
           --job-baseline FILE  that bundle too, as a row of its own (e.g. the commit before)
           --memory MiB (--scale: the cgroup's limit, default 512)
           --list-include GLOB (--scale: the LIST-count runs restore only these keys)`;

export function parseArgs(argv: string[]): Args {
  const a: Args = {
    mode: 'loopback',
    quick: false,
    reps: 0,
    seed: 42,
    concurrency: 16,
    only: new Set(['a', 'b', 'c', 'd', 'startup', 'cluster']),
    onlyGiven: false,
    profile: false,
    keepWork: false,
    jobEnv: {},
    objects: 100_000,
    memoryMiB: 512,
  };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i];
    const num = () => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1)
        throw new Error(`${v} needs a positive integer`);
      return n;
    };
    if (v === '--quick') a.quick = true;
    else if (v === '--region') a.mode = 'region';
    else if (v === '--scale') {
      a.mode = 'scale';
      if (/^\d+$/.test(argv[i + 1] ?? '')) a.objects = num();
    } else if (v === '--memory') a.memoryMiB = num();
    else if (v === '--list-include') {
      const glob = argv[++i] ?? '';
      if (!glob || glob.startsWith('--'))
        throw new Error('--list-include needs a glob (keys below the prefix)');
      a.listInclude = glob;
    } else if (v === '--reps') a.reps = num();
    else if (v === '--seed') a.seed = num();
    else if (v === '--concurrency') a.concurrency = num();
    else if (v === '--profile') a.profile = true;
    else if (v === '--keep-work') a.keepWork = true;
    else if (v === '--tools')
      a.tools = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (v === '--job-bundle') a.jobBundle = path.resolve(argv[++i] ?? '');
    else if (v === '--job-baseline')
      a.jobBaseline = path.resolve(argv[++i] ?? '');
    else if (v === '--work') a.workRoot = path.resolve(argv[++i] ?? '');
    else if (v === '--job-env') {
      const m = /^([A-Z0-9_]+)=(.*)$/.exec(argv[++i] ?? '');
      if (!m) throw new Error('--job-env needs NAME=value');
      a.jobEnv[m[1]] = m[2];
    } else if (v === '--only') {
      a.only = new Set((argv[++i] ?? '').split(',').filter(Boolean));
      a.onlyGiven = true;
    } else throw new Error(`unknown option ${v}\n${USAGE}`);
  }
  if (a.reps === 0) a.reps = { region: 2, scale: 1, loopback: 3 }[a.mode];
  return a;
}
