/**
 * Step 2: the npm tarballs: versions, their dependencies on one another, entry points inside, Backstage
 * publishConfig applied (no src/ entry point), config.schema.json (from config.d.ts), migrations,
 * openapi.yaml, README.
 */
import fs from 'node:fs';
import path from 'node:path';
import { check, out, step, version } from './context.ts';
import { readJson, sh } from './tools.ts';

/** The release's npm packages: each one's tarball and the files it must hold. */
export const TARBALLS: Record<string, { file: string; required: string[] }> = {
  '@kube-restore/common': {
    file: `kube-restore-common-${version}.tgz`,
    required: ['README.md'],
  },
  '@kube-restore/core': {
    file: `kube-restore-core-${version}.tgz`,
    required: ['README.md'],
  },
  '@kube-restore/backstage-plugin-restore-common': {
    file: `kube-restore-backstage-plugin-restore-common-${version}.tgz`,
    required: ['README.md'],
  },
  '@kube-restore/backstage-plugin-restore-backend': {
    file: `kube-restore-backstage-plugin-restore-backend-${version}.tgz`,
    required: [
      'README.md',
      'config.schema.json',
      'src/schema/openapi.yaml',
      'migrations/20250601000000_restore_requests.js',
    ],
  },
  '@kube-restore/backstage-plugin-restore': {
    file: `kube-restore-backstage-plugin-restore-${version}.tgz`,
    required: ['README.md', 'dist/alpha.esm.js', 'dist/alpha.d.ts'],
  },
  '@kube-restore/kubectl-restore': {
    file: `kube-restore-kubectl-restore-${version}.tgz`,
    required: [
      'README.md',
      'bin/kubectl-restore',
      'dist/kubectl-restore.cjs',
      'dist/kubectl-restore-commands.cjs',
    ],
  },
};

export function checkTarballs(tmp: string): void {
  step('2. npm tarballs');
  const names = Object.keys(TARBALLS);
  for (const [name, t] of Object.entries(TARBALLS)) {
    const tgz = path.join(out, 'npm', t.file);
    check(fs.existsSync(tgz), `${t.file} is not in the release`);
    const dir = path.join(tmp, 'unpacked', t.file);
    fs.mkdirSync(dir, { recursive: true });
    sh('tar', ['-xzf', tgz, '-C', dir]);
    const root = path.join(dir, 'package');
    const pkg = readJson(path.join(root, 'package.json'));
    check(
      pkg.name === name && pkg.version === version,
      `${t.file}: ${pkg.name}@${pkg.version}, expected ${name}@${version}`,
    );
    for (const field of [
      'dependencies',
      'peerDependencies',
      'optionalDependencies',
    ])
      for (const [dep, range] of Object.entries(pkg[field] ?? {}))
        if (names.includes(dep))
          check(
            range === version,
            `${t.file}: ${field}.${dep} is ${range}, expected ${version}`,
          );
    const entries: string[] = [pkg.main, pkg.types, pkg.module].filter(Boolean);
    // Conditions' targets (the `backstage` condition names a feature type, not a file).
    const walkExports = (e: unknown): void => {
      if (typeof e === 'string') entries.push(e);
      else if (e && typeof e === 'object')
        Object.entries(e).forEach(
          ([k, v]) => k !== 'backstage' && walkExports(v),
        );
    };
    walkExports(pkg.exports);
    for (const entry of entries) {
      check(
        !/(^|\/)src\/.*\.tsx?$/.test(entry),
        `${t.file}: entry point ${entry} is TypeScript source (publishConfig not applied)`,
      );
      check(
        fs.existsSync(path.join(root, entry)),
        `${t.file}: entry point ${entry} is not in the tarball`,
      );
    }
    for (const f of [...t.required, ...Object.values<string>(pkg.bin ?? {})])
      check(fs.existsSync(path.join(root, f)), `${t.file}: ${f} is missing`);
    check(
      !fs.existsSync(path.join(root, 'src/index.ts')),
      `${t.file}: ships src/index.ts`,
    );
  }
  // backstage-cli package prepack compiles config.d.ts into config.schema.json, which Backstage reads.
  const schema = readJson(
    path.join(
      tmp,
      'unpacked',
      TARBALLS['@kube-restore/backstage-plugin-restore-backend'].file,
      'package/config.schema.json',
    ),
  );
  check(
    schema.properties?.kubeRestore?.properties?.clusters,
    'config.schema.json has no kubeRestore.clusters',
  );
  check(
    JSON.stringify(schema).includes('"visibility":"secret"'),
    'config.schema.json marks no secret',
  );
  const frontend = readJson(
    path.join(
      tmp,
      'unpacked',
      TARBALLS['@kube-restore/backstage-plugin-restore'].file,
      'package/package.json',
    ),
  );
  check(
    frontend.exports?.['./alpha'],
    'the frontend tarball has no ./alpha export',
  );
}
