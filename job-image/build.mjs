// Bundles restore-job into one CommonJS file that runs standalone on Node 20:
//   node build.mjs   ->   dist/restore-job.cjs
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));

await build({
  entryPoints: [path.join(here, 'src/cli.ts')],
  outfile: path.join(here, 'dist/restore-job.cjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  minifySyntax: true,
  legalComments: 'linked',
  logLevel: 'info',
});
