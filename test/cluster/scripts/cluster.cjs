#!/usr/bin/env node
// Entry point for `npm run cluster:up|cluster:down|cluster:status|cluster:env`.
// Node 20 cannot run TypeScript, so this bundles src/cli.ts with esbuild (a root devDependency,
// ~100 ms) into test/cluster/dist/ and runs it. stdout is reserved for the `export` lines.
'use strict';
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..');
const outfile = path.join(pkgDir, 'dist', 'cluster-cli.cjs');
let esbuild;
try {
  esbuild = require('esbuild');
} catch {
  process.stderr.write(
    '[cluster] esbuild is missing: run `npm install` at the repository root first\n',
  );
  process.exit(1);
}
try {
  esbuild.buildSync({
    entryPoints: [path.join(pkgDir, 'src', 'cli.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    logLevel: 'error',
  });
} catch {
  process.stderr.write(
    `[cluster] could not bundle ${path.join(pkgDir, 'src', 'cli.ts')}\n`,
  );
  process.exit(1);
}
require(outfile).main();
