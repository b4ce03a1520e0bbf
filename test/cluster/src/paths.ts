/*
 * Where the harness's own files are. No imports from the harness: every module may use it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** test/cluster, found from this file's location (source, or an esbuild bundle somewhere below it) */
export const PACKAGE_DIR = (() => {
  // eslint-disable-next-line no-restricted-syntax -- the harness runs from source and from bundles alike
  let d = __dirname;
  for (let i = 0; i < 8; i++) {
    if (fs.existsSync(path.join(d, 'scripts', 'build-servers.sh'))) return d;
    d = path.dirname(d);
  }
  throw new Error(
    // eslint-disable-next-line no-restricted-syntax
    `@kube-restore/test-cluster: cannot find scripts/build-servers.sh above ${__dirname}`,
  );
})();
export const REPO_ROOT = path.resolve(PACKAGE_DIR, '..', '..');
