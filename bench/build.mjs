// Bundles the benchmark (bench/src/main.ts) and its child-process probes into dist/:
//   node build.mjs   ->   dist/bench.cjs, dist/size-probe.cjs, dist/heap-probe.cjs
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * @kube-restore/test-cluster finds its scripts and fixtures from __dirname; inside this bundle that
 * would be bench/dist. Its files get their own source directory instead.
 */
const sourceDirname = {
  name: 'test-cluster-dirname',
  setup(b) {
    b.onLoad(
      { filter: /[\\/]test[\\/]cluster[\\/]src[\\/].*\.ts$/ },
      async args => {
        const text = await readFile(args.path, 'utf8');
        return {
          contents: text.replace(
            /\b__dirname\b/g,
            JSON.stringify(path.dirname(args.path)),
          ),
          loader: 'ts',
        };
      },
    );
  },
};

await build({
  entryPoints: {
    bench: path.join(here, 'src/main.ts'),
    'size-probe': path.join(here, 'src/size-probe.ts'),
    'heap-probe': path.join(here, 'src/heap-probe.ts'),
  },
  outdir: path.join(here, 'dist'),
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [sourceDirname],
});
