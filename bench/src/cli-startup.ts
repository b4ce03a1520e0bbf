/*
 * Start-up time of `kubectl restore --help` and `kubectl restore version` (the plugin's bundle run by
 * node, as kubectl runs it), against `kubectl version --client` as the yardstick. Target: < 250 ms.
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

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(REPO_ROOT, 'kubectl-plugin', 'bin', 'kubectl-restore');
const RUNS = Number(process.env.RUNS ?? 20);
/** kubectl finds the plugin on PATH. */
const ENV = {
  ...process.env,
  PATH: `${path.dirname(BIN)}:${process.env.PATH}`,
};

function measure(
  command: string,
  args: string[],
): { median: number; p90: number } {
  const times: number[] = [];
  spawnSync(command, args, { env: ENV }); // warm the page cache
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    const r = spawnSync(command, args, { stdio: 'ignore', env: ENV });
    if (r.status !== 0)
      throw new Error(`${command} ${args.join(' ')} exited ${r.status}`);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return {
    median: times[Math.floor(RUNS / 2)],
    p90: times[Math.floor(RUNS * 0.9)],
  };
}

const cases: [string, string, string[]][] = [
  ['kubectl version --client', 'kubectl', ['version', '--client']],
  ['kubectl-restore --help', process.execPath, [BIN, '--help']],
  ['kubectl-restore version', process.execPath, [BIN, 'version']],
  ['kubectl restore version', 'kubectl', ['restore', 'version']],
];
for (const [name, command, args] of cases) {
  try {
    const { median, p90 } = measure(command, args);
    console.log(
      `${name.padEnd(28)} median ${median.toFixed(0).padStart(4)} ms   p90 ${p90.toFixed(0).padStart(4)} ms`,
    );
  } catch (error) {
    console.log(`${name.padEnd(28)} ${(error as Error).message}`);
  }
}
