// Runs a package's src/cli.ts, whose extensionless TypeScript imports Node cannot load: bundles it with esbuild (a root
// devDependency, ~100 ms) into the package's dist/ and calls its main(). Used by `npm run cluster:*`
// and `npm run portal*`.
'use strict';
const path = require('node:path');

/**
 * @param {{ pkgDir: string, name: string, external?: string[] }} options
 *   name: the bundle's name (dist/<name>-cli.cjs) and the tag of error messages.
 */
function runTsCli({ pkgDir, name, external = [] }) {
  const entry = path.join(pkgDir, 'src', 'cli.ts');
  const outfile = path.join(pkgDir, 'dist', `${name}-cli.cjs`);
  let esbuild;
  try {
    esbuild = require('esbuild');
  } catch {
    process.stderr.write(
      `[${name}] esbuild is missing: run \`npm install\` at the repository root first\n`,
    );
    process.exit(1);
  }
  try {
    esbuild.buildSync({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'cjs',
      sourcemap: 'inline',
      external,
      logLevel: 'error',
    });
  } catch {
    process.stderr.write(`[${name}] could not bundle ${entry}\n`);
    process.exit(1);
  }
  require(outfile).main();
}

module.exports = { runTsCli };
