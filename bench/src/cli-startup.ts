/*
 * Start-up time of `kubectl restore --help` and `kubectl restore version` (the plugin's bundle run by
 * node, as kubectl runs it), against `kubectl version --client` as the yardstick. Target: < 250 ms.
 * Part of `npm run bench`; on its own:
 *
 *   node kubectl-plugin/build.mjs
 *   npx esbuild bench/src/cli-startup.ts --platform=node --format=cjs --outfile=bench/src/.cli-startup.cjs
 *   RUNS=30 node bench/src/.cli-startup.cjs      # median and p90 in ms
 *
 * Measured 2026-11-21 (2 vCPU, load average ~8 from other test runs): kubectl version --client 89 ms,
 * kubectl-restore --help 137 ms, kubectl-restore version 123 ms, kubectl restore version 192 ms (medians).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

// eslint-disable-next-line no-restricted-syntax -- runs from bench/src or from the bundle in bench/dist
const REPO_ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(REPO_ROOT, 'kubectl-plugin', 'bin', 'kubectl-restore');

function measure(
  command: string,
  args: string[],
  runs: number,
  env: NodeJS.ProcessEnv,
): { median: number; p90: number } {
  const times: number[] = [];
  spawnSync(command, args, { env }); // warm the page cache
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const r = spawnSync(command, args, { stdio: 'ignore', env });
    if (r.status !== 0)
      throw new Error(`${command} ${args.join(' ')} exited ${r.status}`);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return {
    median: times[Math.floor(runs / 2)],
    p90: times[Math.floor(runs * 0.9)],
  };
}

/** Medians and p90s of the start-up cases, as a markdown section. */
export async function measureStartup(opts: {
  runs: number;
  kubectl?: string;
  log?: (m: string) => void;
}): Promise<string> {
  const spawnBuild = spawnSync(
    process.execPath,
    [path.join(REPO_ROOT, 'kubectl-plugin', 'build.mjs')],
    { stdio: 'ignore' },
  );
  if (spawnBuild.status !== 0)
    throw new Error(
      'building the kubectl plugin failed (node kubectl-plugin/build.mjs)',
    );
  const kubectl = opts.kubectl || 'kubectl';
  // kubectl finds the plugin on PATH
  const env = {
    ...process.env,
    PATH: `${path.dirname(BIN)}:${process.env.PATH}`,
  };
  const cases: [string, string, string[]][] = [
    ['kubectl version --client', kubectl, ['version', '--client']],
    ['kubectl-restore --help', process.execPath, [BIN, '--help']],
    ['kubectl-restore version', process.execPath, [BIN, 'version']],
    ['kubectl restore --help', kubectl, ['restore', '--help']],
    ['kubectl restore version', kubectl, ['restore', 'version']],
  ];
  const rows: string[] = [];
  let yardstick: number | undefined;
  for (const [name, command, args] of cases) {
    const { median, p90 } = measure(command, args, opts.runs, env);
    yardstick ??= median;
    rows.push(
      `| \`${name}\` | ${median.toFixed(0)} | ${p90.toFixed(0)} | ${(median / yardstick).toFixed(2)} |`,
    );
    opts.log?.(`startup ${name}: median ${median.toFixed(0)} ms`);
  }
  return [
    `## CLI start-up (${opts.runs} runs each; target < 250 ms)`,
    '',
    `kubectl: ${kubectl}`,
    '',
    '| command | median ms | p90 ms | x kubectl version --client |',
    '|---|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n');
}

// run on its own (not when bundled into bench/dist/bench.cjs)
if (require.main === module && /cli-startup/.test(require.main.filename)) {
  measureStartup({ runs: Number(process.env.RUNS ?? 20) }).then(
    md => process.stdout.write(md),
    error => {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}
