// npm run test:release [-- --no-cluster]: proves dist/release/<version>/ (npm run release) outside the
// workspace. Exits 1 on the first failed check, naming it.
//   1. SHA256SUMS, and the krew manifest's sha256 recomputed from the archives (release copy and
//      deploy/krew/restore.yaml);
//   2. the npm tarballs: versions, their dependencies on one another, entry points inside, Backstage
//      publishConfig applied (no src/ entry point), config.schema.json (from config.d.ts), migrations,
//      openapi.yaml, README;
//   3. the standalone kubectl executable from the linux-amd64 archive with no Node on PATH:
//      `kubectl-restore version` and `kubectl restore version` (real kubectl, PATH of kubectl and the
//      plugin only); the arm64 one by structure (AArch64 ELF, fuse set, the same blob as amd64);
//   4. in a fresh temporary project with no workspace links: the tarballs plus their public
//      dependencies from the registry, a minimal Backstage backend (createBackend + the plugin) that
//      starts and answers GET /api/restore/health, and tsc on a consumer of the frontend's root and
//      ./alpha;
//   5. against the harness (KUBECONFIG, AWS_*, KUBE_RESTORE_S3_ENDPOINT from `npm run -s cluster:up`):
//      `kubectl restore create --wait` with the standalone executable, and 6. one restore through the
//      installed backend plugin (with the catalog). --no-cluster leaves 5 and 6 out and says so;
//      without the environment and without the flag, it fails naming what is missing.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { archiveName, manifestArchives, sha256File } from './krew.ts';
import { SEA_FUSE, SEA_PLATFORMS, nodeVersion } from './sea.ts';
import { REPO_ROOT, jobImage, sourceVersion } from './versions.ts';

const started = Date.now();
const version = sourceVersion();
const out = path.join(REPO_ROOT, 'dist/release', version);
const noCluster = process.argv.includes('--no-cluster');
let checks = 0;

function step(line: string) {
  process.stderr.write(
    `[test:release ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}\n`,
  );
}
function check(ok: unknown, what: string): void {
  checks++;
  if (!ok) throw new Error(what);
}
function sh(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): string {
  try {
    return execFileSync(cmd, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 << 20,
      ...options,
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${cmd} ${args.join(' ')} failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`,
    );
  }
}
function readJson(file: string) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}
function workspaceVersionOf(pkgDir: string, dep: string): string {
  const p = readJson(path.join(REPO_ROOT, pkgDir, 'package.json'));
  const v = p.dependencies?.[dep] ?? p.devDependencies?.[dep];
  if (!v) throw new Error(`${pkgDir}/package.json has no ${dep}`);
  return v;
}

/** The NODE_SEA_BLOB note of an ELF executable (what postject injected). */
function seaBlobOf(file: string): Buffer {
  const bytes = fs.readFileSync(file);
  const name = Buffer.from('NODE_SEA_BLOB\0');
  for (let i = bytes.indexOf(name); i >= 0; i = bytes.indexOf(name, i + 1)) {
    if (i >= 12 && bytes.readUInt32LE(i - 12) === name.length) {
      const size = bytes.readUInt32LE(i - 8);
      const start = i + 16; // the name, padded to 4 bytes
      return bytes.subarray(start, start + size);
    }
  }
  throw new Error(`${file}: no NODE_SEA_BLOB note`);
}

function checkFolder(): void {
  check(
    fs.existsSync(out),
    `${path.relative(REPO_ROOT, out)} is missing: run \`npm run release\` first`,
  );
  step(`1. checksums in ${path.relative(REPO_ROOT, out)}`);
  const sums = fs
    .readFileSync(path.join(out, 'SHA256SUMS'), 'utf8')
    .trim()
    .split('\n');
  for (const line of sums) {
    const [sum, file] = line.split(/\s+/);
    check(
      sha256File(path.join(out, file)) === sum,
      `SHA256SUMS: ${file} changed since the release was built`,
    );
  }
  const manifest = fs.readFileSync(path.join(out, 'restore.yaml'), 'utf8');
  check(
    manifest ===
      fs.readFileSync(path.join(REPO_ROOT, 'deploy/krew/restore.yaml'), 'utf8'),
    "deploy/krew/restore.yaml differs from the release folder's restore.yaml (commit the one npm run release wrote)",
  );
  const archives = manifestArchives(manifest);
  check(
    archives.length === SEA_PLATFORMS.length,
    `restore.yaml: ${archives.length} platforms, expected ${SEA_PLATFORMS.length}`,
  );
  for (const a of archives) {
    const file = path.join(out, path.basename(a.uri));
    check(
      fs.existsSync(file),
      `restore.yaml names ${path.basename(a.uri)}, which is not in the release`,
    );
    check(
      sha256File(file) === a.sha256,
      `restore.yaml: sha256 of ${path.basename(a.uri)} is ${sha256File(file)}, the manifest says ${a.sha256}`,
    );
    check(
      a.uri.includes(`/v${version}/`),
      `restore.yaml: ${a.uri} is not under v${version}`,
    );
  }
}

/** The job image archive is tagged with the version; the install manifests name and admit that image. */
function checkImageAndManifests(): void {
  step('1b. job image archive and install manifests');
  const image = path.join(out, `restore-job-${version}.oci.tar`);
  check(
    fs.existsSync(image),
    `restore-job-${version}.oci.tar is not in the release (npm run image)`,
  );
  const index = JSON.parse(sh('tar', ['-xOf', image, 'index.json']));
  const annotations = index.manifests?.[0]?.annotations ?? {};
  check(
    annotations['io.containerd.image.name'] === jobImage(version) &&
      annotations['org.opencontainers.image.ref.name'] === version,
    `the image's index.json names ${JSON.stringify(annotations)}, expected ${jobImage(version)}`,
  );
  const dockerManifest = JSON.parse(
    sh('tar', ['-xOf', image, 'manifest.json']),
  );
  check(
    dockerManifest[0]?.RepoTags?.includes(jobImage(version)),
    `the image's manifest.json RepoTags do not include ${jobImage(version)}`,
  );
  const install = fs.readFileSync(
    path.join(out, `kube-restore-${version}.yaml`),
    'utf8',
  );
  check(
    install.includes(`# Job image: ${jobImage(version)}`),
    `kube-restore-${version}.yaml does not name ${jobImage(version)}`,
  );
  const docs = YAML.parseAllDocuments(install).filter(d => d.contents);
  check(
    docs.every(d => d.errors.length === 0),
    `kube-restore-${version}.yaml does not parse`,
  );
  const kinds = docs.map(d => d.toJS().kind);
  for (const kind of [
    'Namespace',
    'ServiceAccount',
    'ClusterRole',
    'ValidatingAdmissionPolicy',
  ])
    check(kinds.includes(kind), `kube-restore-${version}.yaml has no ${kind}`);
  const policy = docs
    .map(d => d.toJS())
    .find(
      d =>
        d.kind === 'ValidatingAdmissionPolicy' &&
        d.metadata.name === 'kube-restore-operator-jobs',
    );
  const imageVar = policy?.spec?.variables?.find(
    (v: { name: string }) => v.name === 'image',
  );
  check(
    imageVar,
    'the install has no kube-restore-operator-jobs policy with an image variable',
  );
  check(
    new RegExp(imageVar.expression.replace(/^'|'$/g, '')).test(
      jobImage(version),
    ),
    `the operator guardrail does not admit ${jobImage(version)}`,
  );
  const optIn = YAML.parseAllDocuments(
    fs.readFileSync(
      path.join(out, `kube-restore-opt-in-${version}.yaml`),
      'utf8',
    ),
  )
    .filter(d => d.contents)
    .map(d => d.toJS());
  check(
    optIn.length > 0 &&
      optIn.every(d => d.kind === 'RoleBinding' && !d.metadata.namespace),
    'kube-restore-opt-in: expected RoleBindings without a namespace (kubectl -n decides)',
  );
}

const TARBALLS: Record<string, { file: string; required: string[] }> = {
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

function checkTarballs(tmp: string): void {
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

/** $KUBECTL, else the harness's (servers.env of npm run build:servers), else kubectl on PATH. */
function findKubectl(): string {
  if (process.env.KUBECTL) return process.env.KUBECTL;
  const cache =
    process.env.KUBE_RESTORE_CACHE ??
    path.join(os.homedir(), '.cache/kube-restore');
  const serversEnv = path.join(cache, 'servers.env');
  if (fs.existsSync(serversEnv)) {
    const m = fs.readFileSync(serversEnv, 'utf8').match(/^KUBECTL=(.+)$/m);
    if (m && fs.existsSync(m[1])) return m[1];
  }
  let onPath = '';
  try {
    onPath = sh('sh', ['-c', 'command -v kubectl']).trim();
  } catch {
    // none
  }
  check(
    onPath,
    'no kubectl: set KUBECTL, run `npm run build:servers`, or put one on PATH',
  );
  return onPath;
}

function checkExecutables(tmp: string): void {
  step('3. standalone executables');
  const blobs: Buffer[] = [];
  for (const platform of SEA_PLATFORMS) {
    const dir = path.join(tmp, 'krew', platform.arch);
    fs.mkdirSync(dir, { recursive: true });
    sh('tar', [
      '-xzf',
      path.join(out, archiveName(version, platform)),
      '-C',
      dir,
    ]);
    for (const f of [
      'kubectl-restore',
      'kubectl_complete-restore',
      'LICENSE',
      'LICENSE.node',
    ])
      check(
        fs.existsSync(path.join(dir, f)),
        `${archiveName(version, platform)}: ${f} is missing`,
      );
    const exe = path.join(dir, 'kubectl-restore');
    const bytes = fs.readFileSync(exe);
    check(
      bytes.readUInt16LE(18) === platform.elfMachine,
      `${platform.arch}: ELF machine 0x${bytes.readUInt16LE(18).toString(16)}`,
    );
    check(
      bytes.includes(Buffer.from(`${SEA_FUSE}:1`)),
      `${platform.arch}: the SEA fuse is not set`,
    );
    check(
      bytes.includes(Buffer.from(`v${nodeVersion()}`)),
      `${platform.arch}: not Node v${nodeVersion()}`,
    );
    blobs.push(seaBlobOf(exe));
  }
  check(
    blobs.every(b => b.equals(blobs[0])),
    'the executables carry different blobs',
  );
  check(
    blobs[0].includes(Buffer.from(`PLUGIN_VERSION = "${version}"`)) ||
      blobs[0].includes(Buffer.from(`"${version}"`)),
    'the blob does not carry the version',
  );

  const amd64 = path.join(tmp, 'krew', 'amd64');
  const noNode = { PATH: '/usr/bin/false-dir', HOME: tmp };
  const direct = sh(
    path.join(amd64, 'kubectl-restore'),
    ['version', '-o', 'json'],
    { cwd: amd64, env: noNode },
  );
  const info = JSON.parse(direct);
  check(
    info.version === version,
    `kubectl-restore version says ${info.version}, expected ${version}`,
  );
  check(
    info.jobImage === jobImage(version),
    `kubectl-restore version: job image ${info.jobImage}`,
  );
  check(
    info.node === `v${nodeVersion()}`,
    `kubectl-restore version: node ${info.node}`,
  );

  // kubectl finds plugins on PATH: a PATH with kubectl and the plugin only, no node.
  const kubectl = findKubectl();
  const bin = path.join(tmp, 'path');
  fs.mkdirSync(bin);
  fs.symlinkSync(fs.realpathSync(kubectl), path.join(bin, 'kubectl'));
  fs.symlinkSync(
    path.join(amd64, 'kubectl-restore'),
    path.join(bin, 'kubectl-restore'),
  );
  check(!fs.readdirSync(bin).includes('node'), 'node on the test PATH');
  const viaKubectl = sh(path.join(bin, 'kubectl'), ['restore', 'version'], {
    env: { PATH: bin, HOME: tmp },
  });
  check(
    viaKubectl.startsWith(`kubectl-restore v${version} `),
    `kubectl restore version printed: ${viaKubectl}`,
  );
  // A command that loads core, the Kubernetes client and the AWS SDK: an unreachable cluster is a clean error.
  fs.writeFileSync(
    path.join(tmp, 'kubeconfig'),
    'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u, namespace: ns}}]\ncurrent-context: x\n',
  );
  let listError = '';
  try {
    sh(
      path.join(bin, 'kubectl'),
      ['restore', 'list', '--request-timeout', '5s'],
      {
        env: { PATH: bin, HOME: tmp, KUBECONFIG: path.join(tmp, 'kubeconfig') },
      },
    );
  } catch (e) {
    listError = (e as Error).message;
  }
  check(
    /127\.0\.0\.1:9|ECONNREFUSED|connect/i.test(listError),
    `kubectl restore list against a closed port: ${listError || 'succeeded'}`,
  );
  check(
    !/Cannot find module|SyntaxError|single executable/i.test(listError),
    `the executable could not load its commands: ${listError}`,
  );
}

async function waitForHealth(
  url: string,
  child: ReturnType<typeof spawn>,
  log: () => string,
): Promise<string> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`the backend exited with ${child.exitCode}:\n${log()}`);
    if (log().includes('Backend startup failed'))
      throw new Error(`the backend did not start:\n${log()}`);
    try {
      const res = await fetch(url);
      if (res.ok) return await res.text();
    } catch {
      // not listening yet
    }
    await new Promise(r => setTimeout(r, 500));
  }
  throw new Error(`no answer from ${url} in 120 s:\n${log()}`);
}

async function checkOutsideWorkspace(tmp: string): Promise<void> {
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

async function checkAgainstHarness(tmp: string): Promise<void> {
  if (noCluster) {
    step(
      '5. NOT RUN (--no-cluster): kubectl restore create --wait against the harness',
    );
    return;
  }
  const missing = [
    'KUBECONFIG',
    'KUBE_RESTORE_S3_ENDPOINT',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
  ].filter(k => !process.env[k]);
  check(
    missing.length === 0,
    `5. needs the harness: ${missing.join(', ')} unset. Run \`eval "$(npm run -s cluster:up)"\` first, or pass --no-cluster`,
  );
  step(
    '5. against the harness: the demo dataset, then kubectl restore create --wait',
  );
  // The harness's demo data: s3://datasets/demo/ (scripts/demo-data.mjs, deterministic).
  sh(process.execPath, [path.join(REPO_ROOT, 'scripts/demo-data.mjs')], {
    cwd: REPO_ROOT,
  });
  const bin = path.join(tmp, 'path');
  const env = {
    PATH: bin,
    HOME: tmp,
    // alice edits team-a: a user restoring with her own identity, as the README's tour.
    KUBECONFIG: process.env.KUBECONFIG_ALICE ?? process.env.KUBECONFIG,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
  };
  const name = `release-${crypto.randomBytes(3).toString('hex')}`;
  const result = sh(
    path.join(bin, 'kubectl'),
    [
      'restore',
      'create',
      name,
      '--from',
      's3://datasets/demo/',
      '--to',
      `pvc/${name}`,
      '-n',
      'team-a',
      '--size',
      '1Gi',
      '--endpoint',
      process.env.KUBE_RESTORE_S3_ENDPOINT!,
      '--credentials-from-env',
      '--wait',
    ],
    { env },
  );
  step(`   ${result.trim().split('\n').slice(-1)[0]}`);
  const status = JSON.parse(
    sh(
      path.join(bin, 'kubectl'),
      ['restore', 'status', name, '-n', 'team-a', '-o', 'json'],
      {
        env,
      },
    ),
  );
  check(
    JSON.stringify(status).includes('"Succeeded"'),
    `kubectl restore status ${name}: not Succeeded: ${JSON.stringify(status).slice(0, 500)}`,
  );
  sh(
    path.join(bin, 'kubectl'),
    ['restore', 'delete', name, '-n', 'team-a', '--keep-pvc=false'],
    {
      env,
    },
  );
}

/**
 * 6. One restore through the installed backend plugin on the harness: the catalog (with one entity in
 * team-a), the operator's identity from the harness, deploy/ applied, team-a opted in and consenting to
 * the entity's owner, a static service token allowed to write (kubeRestore.serviceAccess).
 */
async function checkBackendRestore(tmp: string): Promise<void> {
  if (noCluster) {
    step(
      '6. NOT RUN (--no-cluster): a restore through the installed backend plugin',
    );
    return;
  }
  const operatorKubeconfig = process.env.KUBECONFIG_OPERATOR;
  check(
    operatorKubeconfig,
    '6. needs KUBECONFIG_OPERATOR from `npm run -s cluster:up`',
  );
  step('6. a restore through the installed backend plugin, on the harness');
  const kubeconfigText = fs.readFileSync(operatorKubeconfig!, 'utf8');
  const field = (name: string) => {
    const m = new RegExp(`^\\s*${name}:\\s*(\\S+)\\s*$`, 'm').exec(
      kubeconfigText,
    );
    check(m, `${operatorKubeconfig} has no ${name}`);
    return m![1];
  };
  const kubectl = findKubectl();
  const admin = { ...process.env, KUBECONFIG: process.env.KUBECONFIG };
  sh(kubectl, ['apply', '-k', path.join(REPO_ROOT, 'deploy')], { env: admin });
  sh(
    kubectl,
    ['apply', '-k', path.join(REPO_ROOT, 'deploy/rbac/opt-in'), '-n', 'team-a'],
    {
      env: admin,
    },
  );
  sh(
    kubectl,
    [
      '-n',
      'team-a',
      'annotate',
      'rolebinding',
      'kube-restore-operator',
      '--overwrite',
      'kube-restore.io/backstage-owners=group:default/release-team',
    ],
    { env: admin },
  );

  const app = path.join(tmp, 'adopter');
  fs.writeFileSync(
    path.join(app, 'catalog.yaml'),
    `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
  annotations:
    backstage.io/kubernetes-namespace: team-a
spec:
  type: service
  lifecycle: production
  owner: group:default/release-team
`,
  );
  fs.writeFileSync(
    path.join(app, 'src/backend-with-catalog.cjs'),
    `const { createBackend } = require('@backstage/backend-defaults');
const backend = createBackend();
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(import('@kube-restore/backstage-plugin-restore-backend'));
backend.start();
`,
  );
  const token = crypto.randomBytes(24).toString('hex');
  const port = 20000 + crypto.randomInt(20000);
  const base = `http://127.0.0.1:${port}`;
  // JSON is YAML; secrets from the environment, as adopters would.
  fs.writeFileSync(
    path.join(app, 'app-config.harness.yaml'),
    JSON.stringify({
      backend: {
        baseUrl: base,
        listen: { host: '127.0.0.1', port },
        database: { client: 'better-sqlite3', connection: ':memory:' },
        auth: {
          externalAccess: [
            {
              type: 'static',
              options: {
                token: '${RELEASE_TEST_TOKEN}',
                // Backstage passes the subject through as configured; the plugin expects external:...
                subject: 'external:release-test',
              },
            },
          ],
        },
      },
      catalog: {
        rules: [{ allow: ['Component'] }],
        locations: [{ type: 'file', target: path.join(app, 'catalog.yaml') }],
      },
      kubeRestore: {
        clusters: [
          {
            name: 'harness',
            url: field('server'),
            caData: field('certificate-authority-data'),
            serviceAccountToken: '${RELEASE_TEST_OPERATOR_TOKEN}',
          },
        ],
        sources: [
          {
            name: 'demo',
            endpoint: process.env.KUBE_RESTORE_S3_ENDPOINT,
            region: process.env.AWS_REGION ?? 'us-east-1',
            bucket: 'datasets',
            prefix: 'demo/',
            shared: true,
            credentials: {
              accessKeyId: '${AWS_ACCESS_KEY_ID}',
              secretAccessKey: '${AWS_SECRET_ACCESS_KEY}',
            },
          },
        ],
        serviceAccess: {
          read: true,
          write: [
            {
              subject: 'external:release-test',
              owners: ['group:default/release-team'],
            },
          ],
        },
      },
    }),
  );
  let output = '';
  const child = spawn(
    process.execPath,
    ['src/backend-with-catalog.cjs', '--config', 'app-config.harness.yaml'],
    {
      cwd: app,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        NODE_OPTIONS: '',
        RELEASE_TEST_TOKEN: token,
        RELEASE_TEST_OPERATOR_TOKEN: field('token'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', d => (output += d));
  child.stderr!.on('data', d => (output += d));
  const headers = {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
  };
  const until = async <T>(
    what: string,
    ms: number,
    f: () => Promise<T | undefined>,
  ): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`the backend exited:\n${output.slice(0, 6000)}`);
      try {
        const v = await f();
        if (v !== undefined) return v;
      } catch {
        // not yet
      }
      if (Date.now() > deadline)
        throw new Error(
          `${what}: not within ${ms / 1000} s\n${output.slice(-6000)}`,
        );
      await new Promise(r => setTimeout(r, 1000));
    }
  };
  try {
    await waitForHealth(`${base}/api/restore/health`, child, () =>
      output.slice(0, 6000),
    );
    await until('the catalog has component:default/shop', 120_000, async () => {
      const r = await fetch(
        `${base}/api/catalog/entities/by-name/component/default/shop`,
        { headers },
      );
      return r.ok ? true : undefined;
    });
    const name = `release-be-${crypto.randomBytes(3).toString('hex')}`;
    const created = await fetch(`${base}/api/restore/restores`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        entityRef: 'component:default/shop',
        name,
        source: { name: 'demo' },
        target: { pvc: name, mode: 'new', size: '1Gi' },
      }),
    });
    const createdBody = await created.text();
    check(
      created.status === 201,
      `POST /api/restore/restores: ${created.status} ${createdBody}`,
    );
    const id = JSON.parse(createdBody).id;
    check(id, `POST /api/restore/restores answered no id: ${createdBody}`);
    const final = await until('the restore ends', 240_000, async () => {
      const r = await fetch(
        `${base}/api/restore/restores/${encodeURIComponent(id)}`,
        { headers },
      );
      const v = (await r.json()) as { phase?: string };
      return v.phase === 'Succeeded' || v.phase === 'Failed' ? v : undefined;
    });
    check(
      final.phase === 'Succeeded',
      `the backend's restore ended ${JSON.stringify(final).slice(0, 800)}`,
    );
    step(`   POST /api/restore/restores -> ${id}: Succeeded`);
    await fetch(
      `${base}/api/restore/restores/${encodeURIComponent(id)}?deletePvc=true`,
      {
        method: 'DELETE',
        headers,
      },
    );
  } finally {
    child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-test-release-'));
  try {
    checkFolder();
    checkImageAndManifests();
    checkTarballs(tmp);
    checkExecutables(tmp);
    await checkOutsideWorkspace(tmp);
    await checkAgainstHarness(tmp);
    await checkBackendRestore(tmp);
    step(
      `PASS: ${checks} checks in ${((Date.now() - started) / 1000).toFixed(0)} s${noCluster ? ' (without the harness part)' : ''}`,
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch(error => {
  step(`FAIL: ${(error as Error).message}`);
  process.exit(1);
});
