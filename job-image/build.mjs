// Bundles restore-job into one CommonJS file that runs standalone on Node 20:
//   node build.mjs   ->   dist/restore-job.cjs
// The esbuild options are in bundle.json, shared with the tests' build (src/__testUtils__/job.ts);
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

await build({
  ...options,
  entryPoints: [path.join(here, 'src/cli.ts')],
  outfile: path.join(here, 'dist/restore-job.cjs'),
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'info',
});
