/**
 * kube-restore's benchmark: the job program against s5cmd, rclone, mc and the aws cli, interleaved,
 * median of several repetitions. See bench/README.md and `USAGE` in args.ts.
 *
 *   npm run bench               loopback run (writes bench/RESULTS.md and bench/throughput.svg)
 *   npm run bench -- --quick    small datasets, 3 repetitions (writes bench/out/)
 *   npm run bench -- --region   emulated region: latency, bandwidth cap, HTTPS (a block of RESULTS.md)
 *   npm run bench -- --scale N  N small objects under the pod's memory limit (a block of RESULTS.md)
 */
import { parseArgs } from './args';
import { runLoopback } from './loopback';
import { runRegion } from './region';
import { runScale } from './scale';

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.mode === 'region') await runRegion(args);
  else if (args.mode === 'scale') await runScale(args);
  else await runLoopback(args);
}

main().catch(error => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
