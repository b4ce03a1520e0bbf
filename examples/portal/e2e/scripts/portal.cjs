#!/usr/bin/env node
// Entry point for `npm run portal` and `npm run portal:screenshots`: bundles src/cli.ts with esbuild (as
// test/cluster/scripts/cluster.cjs does) into dist/ and runs it. playwright-core stays external.
'use strict';
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..');
const outfile = path.join(pkgDir, 'dist', 'portal-cli.cjs');
let esbuild;
try {
  esbuild = require('esbuild');
} catch {
  process.stderr.write(
    '[portal] esbuild is missing: run `npm install` at the repository root first\n',
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
    external: ['playwright-core'],
    logLevel: 'error',
  });
} catch {
  process.stderr.write(
    `[portal] could not bundle ${path.join(pkgDir, 'src', 'cli.ts')}\n`,
  );
  process.exit(1);
}
require(outfile).main();
