/**
 * Step 4: in a fresh temporary project with no workspace links: the tarballs plus their public
 * dependencies from the registry, a minimal Backstage backend (createBackend + the plugin) that starts
 * and answers GET /api/restore/health, and tsc on a consumer of the frontend's root and ./alpha. The
 * project (`<tmp>/adopter`) stays for step 6.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../versions.ts';
import { check, out, step, version } from './context.ts';
import { TARBALLS } from './tarballs.ts';
import { readJson, sh, waitForHealth, workspaceVersionOf } from './tools.ts';

export async function checkOutsideWorkspace(tmp: string): Promise<void> {
  step(
    '4. a fresh project with the tarballs and the registry (npm install, a few minutes)',
  );
  const app = path.join(tmp, 'adopter');
  fs.mkdirSync(path.join(app, 'src'), { recursive: true });
  const tgz = (name: string) =>
    `file:${path.join(out, 'npm', TARBALLS[name].file)}`;
  const backendDir = 'plugins/backstage-backend';
  const frontendDir = 'plugins/backstage-frontend';
  const rootPkg = readJson(path.join(REPO_ROOT, 'package.json'));
  fs.writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify(
      {
        name: 'adopter',
        private: true,
        // better-sqlite3 builds its addon at install (the backend's database in this test).
        allowScripts: { 'better-sqlite3': true },
        dependencies: {
          ...Object.fromEntries(
            Object.keys(TARBALLS)
              .filter(n => n !== '@kube-restore/kubectl-restore')
              .map(n => [n, tgz(n)]),
          ),
          '@backstage/backend-defaults': workspaceVersionOf(
            backendDir,
            '@backstage/backend-defaults',
          ),
          'better-sqlite3': workspaceVersionOf(backendDir, 'better-sqlite3'),
          // For the restore through the backend (step 6): the entity a restore is for.
          '@backstage/plugin-catalog-backend': workspaceVersionOf(
            'examples/portal/backend',
            '@backstage/plugin-catalog-backend',
          ),
          react: workspaceVersionOf(frontendDir, 'react'),
          'react-dom': workspaceVersionOf(frontendDir, 'react-dom'),
          'react-router-dom': workspaceVersionOf(
            frontendDir,
            'react-router-dom',
          ),
        },
        devDependencies: {
          typescript: rootPkg.devDependencies.typescript,
          '@types/react': rootPkg.devDependencies['@types/react'],
          '@types/node': rootPkg.devDependencies['@types/node'],
        },
      },
      null,
      2,
    ),
  );
  const installStart = Date.now();
  sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: app,
  });
  step(`   npm install: ${((Date.now() - installStart) / 1000).toFixed(0)} s`);
  for (const name of Object.keys(TARBALLS).filter(
    n => n !== '@kube-restore/kubectl-restore',
  )) {
    const dir = path.join(app, 'node_modules', name);
    check(
      !fs.lstatSync(dir).isSymbolicLink(),
      `${name} is a link, not an installed copy`,
    );
    check(
      readJson(path.join(dir, 'package.json')).version === version,
      `${name} installed at another version`,
    );
  }
  check(
    !fs.existsSync(path.join(app, 'node_modules/@kube-restore/core/src')),
    'core installed with its sources',
  );

  // The minimal backend: createBackend and the plugin, the lines the README tells adopters to add.
  fs.writeFileSync(
    path.join(app, 'src/backend.cjs'),
    `const { createBackend } = require('@backstage/backend-defaults');
const backend = createBackend();
backend.add(import('@kube-restore/backstage-plugin-restore-backend'));
backend.start();
`,
  );
  const port = 20000 + crypto.randomInt(20000);
  fs.writeFileSync(
    path.join(app, 'app-config.yaml'),
    `backend:
  baseUrl: http://127.0.0.1:${port}
  listen: { host: 127.0.0.1, port: ${port} }
  database: { client: better-sqlite3, connection: ':memory:' }
kubeRestore:
  clusters:
    - name: local
      url: https://127.0.0.1:9
      serviceAccountToken: not-used-by-health
  sources:
    - name: backups
      bucket: backups
      # $\${...}: Backstage's config loader substitutes \${...} from the environment.
      prefix: '$\${namespace}/$\${entity}/'
`,
  );
  let output = '';
  const child = spawn(
    process.execPath,
    ['src/backend.cjs', '--config', 'app-config.yaml'],
    {
      cwd: app,
      env: { ...process.env, NODE_ENV: 'production', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', d => (output += d));
  child.stderr!.on('data', d => (output += d));
  try {
    const body = await waitForHealth(
      `http://127.0.0.1:${port}/api/restore/health`,
      child,
      () => output.slice(0, 6000),
    );
    check(body.length > 0, '/api/restore/health answered an empty body');
    step(`   GET /api/restore/health: ${body.trim().slice(0, 200)}`);
  } finally {
    child.kill('SIGTERM');
  }

  // A consumer of the frontend plugin's root and ./alpha, type-checked as an app would.
  fs.writeFileSync(
    path.join(app, 'src/app.tsx'),
    `import { EntityRestoreContent, isRestoreAvailable, restorePlugin } from '@kube-restore/backstage-plugin-restore';
import restoreFeature from '@kube-restore/backstage-plugin-restore/alpha';
import { restoreCreatePermission } from '@kube-restore/backstage-plugin-restore-common';

export const features = [restoreFeature];
export const legacy = { restorePlugin, EntityRestoreContent, isRestoreAvailable, restoreCreatePermission };
`,
  );
  fs.writeFileSync(
    path.join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        jsx: 'react-jsx',
        module: 'esnext',
        moduleResolution: 'bundler',
        target: 'es2022',
        skipLibCheck: true,
        types: [],
      },
      files: ['src/app.tsx'],
    }),
  );
  sh(path.join(app, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], {
    cwd: app,
  });
  step('   tsc on a consumer of the root and ./alpha: no errors');
}
