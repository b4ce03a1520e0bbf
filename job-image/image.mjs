// `npm run image`: bundles src/image/cli.ts with esbuild (Node cannot run the TypeScript sources
// as they are) and runs it; see src/image/jobImage.ts.
import { buildSync } from 'esbuild';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const outfile = path.join(here, 'dist', `image-cli-${process.pid}.cjs`);
buildSync({
  entryPoints: [path.join(here, 'src/image/cli.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  external: ['esbuild'],
  logLevel: 'error',
});
const cli = createRequire(import.meta.url)(outfile);
await import('node:fs').then(fs => fs.rmSync(outfile));
await cli.main();
