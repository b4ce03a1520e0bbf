// Bundles restore-job into one CommonJS file that runs standalone on Node:
//   node build.mjs                   ->   dist/restore-job.cjs
//   node build.mjs --outfile <file>  ->   <file> (the job's tests: each test file builds its own)
// The esbuild options are in bundle.json; the tests build with this script (src/__testUtils__/job.ts);
// job-image/Dockerfile passes the same ones as flags (src/bundle.test.ts checks that they agree).
// `mainFields: module, main` takes the AWS SDK's ES modules, which esbuild can tree-shake: the
// bundle loses the commands and models the job never sends (1.7 -> 1.35 MB), and every start of
// the program about 55 ms of CPU (bench/README.md).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const options = JSON.parse(
  readFileSync(path.join(here, 'bundle.json'), 'utf8'),
);

const at = process.argv.indexOf('--outfile');
const outfile =
  at >= 0
    ? path.resolve(process.argv[at + 1])
    : path.join(here, 'dist/restore-job.cjs');

await build({
  ...options,
  entryPoints: [path.join(here, 'src/cli.ts')],
  outfile,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'info',
});
