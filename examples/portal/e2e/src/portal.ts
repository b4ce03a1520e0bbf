/*
 * Runs the example portal on a harness cluster: builds the app bundle when its inputs changed (cached by a
 * hash of them), installs deploy/ and opts team-a in, uploads the demo dataset, and starts the portal
 * backend (which serves the app) as a child process with a generated config. Used by `npm run portal`,
 * `npm run portal:screenshots` and the browser end-to-end test. LOCAL DEVELOPMENT ONLY: the portal signs
 * users in without a password.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** examples/portal/e2e, found by walking up: this code runs from src/ (jest) and from dist/ (the CLI bundle). */
const E2E_DIR = (() => {
  // eslint-disable-next-line no-restricted-syntax -- runs from source and from the bundle alike, never from an installed package
  const here = __dirname;
  for (let dir = here; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (
      fs.existsSync(manifest) &&
      JSON.parse(fs.readFileSync(manifest, 'utf8')).name ===
        '@kube-restore/portal-e2e'
    )
      return dir;
  }
  throw new Error('cannot find the @kube-restore/portal-e2e package directory');
})();
export const REPO_ROOT = path.resolve(E2E_DIR, '..', '..', '..');
export const PORTAL_DIR = path.join(REPO_ROOT, 'examples', 'portal');
export const APP_DIR = path.join(PORTAL_DIR, 'app');
export const BACKEND_DIR = path.join(PORTAL_DIR, 'backend');
const BACKSTAGE_CLI = path.join(
  REPO_ROOT,
  'node_modules',
  '.bin',
  'backstage-cli',
);
const BUILD_STAMP = path.join(APP_DIR, 'dist', '.portal-build-inputs');

/** The catalog entity the portal is about, and its users (examples/portal/catalog.yaml). */
export const ENTITY = { kind: 'component', namespace: 'default', name: 'shop' };
export const ENTITY_NAMESPACE = 'team-a';
export const OWNER = 'guest';
export const NON_OWNER = 'outsider';
/** What scripts/demo-data.mjs uploads: s3://datasets/demo/ (300 files in folders + README.txt). */
export const DEMO_BUCKET = 'datasets';
export const DEMO_PREFIX = 'demo/';

/** How the portal reaches the harness: what `npm run -s cluster:up` exports, or a started Cluster. */
export interface ClusterAccess {
  /** kubeconfig of the admin, to install deploy/ */
  adminKubeconfig: string;
  /** kubeconfig of ServiceAccount kube-restore/restore-operator: the backend's identity */
  operatorKubeconfig: string;
  /** the harness's kubectl */
  kubectl: string;
  s3: {
    endpoint: string;
    accessKeyId: string;
    secretAccessKey: string;
    region: string;
  };
}

export type Log = (message: string) => void;

/**
 * What the app bundle is built from: the app, every workspace package it depends on (transitively: the
 * frontend plugin, the shared packages), the portal's config and the lockfile.
 */
function appBuildInputs(): string[] {
  const inputs = ['examples/portal/app-config.yaml', 'package-lock.json'];
  const seen = new Set<string>();
  const visit = (dir: string) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    const rel = path.relative(REPO_ROOT, dir);
    inputs.push(`${rel}/package.json`, `${rel}/src`);
    const manifest = JSON.parse(
      fs.readFileSync(path.join(dir, 'package.json'), 'utf8'),
    );
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      const link = path.join(REPO_ROOT, 'node_modules', ...name.split('/'));
      if (!fs.existsSync(link) || !fs.lstatSync(link).isSymbolicLink())
        continue; // not a workspace package: the lockfile covers it
      visit(fs.realpathSync(link));
    }
  };
  visit(APP_DIR);
  return inputs;
}

function hashInputs(): string {
  const hash = createHash('sha256');
  const add = (rel: string) => {
    const abs = path.join(REPO_ROOT, rel);
    if (!fs.existsSync(abs)) {
      hash.update(`missing ${rel}\n`);
      return;
    }
    if (fs.statSync(abs).isDirectory()) {
      for (const entry of fs.readdirSync(abs).sort()) add(`${rel}/${entry}`);
      return;
    }
    hash.update(`${rel}\n`);
    hash.update(fs.readFileSync(abs));
  };
  appBuildInputs().forEach(add);
  return hash.digest('hex');
}

/**
 * Builds the app with `backstage-cli package build` unless dist/ was built from the same inputs.
 * Returns how long the build took (0 when the cached bundle was used).
 */
export async function ensureAppBuilt(log: Log): Promise<number> {
  const inputs = hashInputs();
  if (
    fs.existsSync(path.join(APP_DIR, 'dist', 'index.html')) &&
    fs.existsSync(BUILD_STAMP) &&
    fs.readFileSync(BUILD_STAMP, 'utf8') === inputs
  ) {
    log('app bundle is up to date (examples/portal/app/dist)');
    return 0;
  }
  log('building the app bundle (backstage-cli package build)');
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      BACKSTAGE_CLI,
      ['package', 'build', '--config', '../app-config.yaml'],
      {
        cwd: APP_DIR,
        stdio: ['ignore', 'pipe', 'pipe'],
        // jest sets NODE_ENV=test, which the app's browserslist has no entry for (rspack then fails)
        env: { ...process.env, NODE_ENV: 'production' },
      },
    );
    let output = '';
    child.stdout.on('data', d => (output += d));
    child.stderr.on('data', d => (output += d));
    child.on('error', reject);
    child.on('exit', code =>
      code === 0
        ? resolve()
        : reject(
            new Error(
              `building examples/portal/app failed (exit ${code}):\n${output.slice(-4000)}`,
            ),
          ),
    );
  });
  fs.writeFileSync(BUILD_STAMP, inputs);
  const ms = Date.now() - started;
  log(`app bundle built in ${(ms / 1000).toFixed(1)}s`);
  return ms;
}

async function kubectl(access: ClusterAccess, ...args: string[]) {
  try {
    return await execFileAsync(access.kubectl, [
      '--kubeconfig',
      access.adminKubeconfig,
      ...args,
    ]);
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(
      `kubectl ${args.join(' ')} failed: ${e.stderr || e.message}`,
    );
  }
}

/**
 * As deploy/README.md says: the cluster-wide part, then team-a opts the operator in and consents to
 * Backstage restores for the shop service's owner (user:default/guest in catalog.yaml). Idempotent.
 */
export async function installRestoreRbac(access: ClusterAccess): Promise<void> {
  await kubectl(access, 'apply', '-k', path.join(REPO_ROOT, 'deploy'));
  await kubectl(
    access,
    'apply',
    '-k',
    path.join(REPO_ROOT, 'deploy', 'rbac', 'opt-in'),
    '-n',
    ENTITY_NAMESPACE,
  );
  await kubectl(
    access,
    '-n',
    ENTITY_NAMESPACE,
    'annotate',
    'rolebinding',
    'kube-restore-operator',
    '--overwrite',
    `kube-restore.io/backstage-owners=user:default/${OWNER}`,
  );
}

/** Uploads the demo dataset with scripts/demo-data.mjs (idempotent). */
export async function seedDemoData(access: ClusterAccess): Promise<void> {
  try {
    await execFileAsync(
      process.execPath,
      [path.join(REPO_ROOT, 'scripts', 'demo-data.mjs')],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          KUBE_RESTORE_S3_ENDPOINT: access.s3.endpoint,
          AWS_ACCESS_KEY_ID: access.s3.accessKeyId,
          AWS_SECRET_ACCESS_KEY: access.s3.secretAccessKey,
          AWS_REGION: access.s3.region,
        },
      },
    );
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`scripts/demo-data.mjs failed: ${e.stderr || e.message}`);
  }
}

/** Server, CA and token of the operator's kubeconfig (as the harness writes it). */
export function readOperatorKubeconfig(file: string): {
  server: string;
  caData: string;
  token: string;
} {
  const text = fs.readFileSync(file, 'utf8');
  const field = (name: string) => {
    const value = new RegExp(`^\\s*${name}:\\s*(\\S+)\\s*$`, 'm').exec(
      text,
    )?.[1];
    if (!value) throw new Error(`${file} has no ${name}`);
    return value;
  };
  return {
    server: field('server'),
    caData: field('certificate-authority-data'),
    token: field('token'),
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The generated part of the config; secrets stay out of it and come from the environment. */
export function portalConfig(options: {
  baseUrl: string;
  port: number;
  server: string;
  caData: string;
  s3Endpoint: string;
  s3Region: string;
}) {
  const credentials = {
    accessKeyId: '${PORTAL_S3_ACCESS_KEY_ID}',
    secretAccessKey: '${PORTAL_S3_SECRET_ACCESS_KEY}',
  };
  return {
    app: { baseUrl: options.baseUrl },
    backend: {
      baseUrl: options.baseUrl,
      listen: { host: '127.0.0.1', port: options.port },
    },
    kubeRestore: {
      clusters: [
        {
          name: 'local',
          url: options.server,
          caData: options.caData,
          serviceAccountToken: '${PORTAL_OPERATOR_TOKEN}',
        },
      ],
      sources: [
        {
          name: 'demo',
          title: 'Demo dataset (s3://datasets/demo/)',
          endpoint: options.s3Endpoint,
          region: options.s3Region,
          bucket: DEMO_BUCKET,
          prefix: DEMO_PREFIX,
          shared: true, // one demo dataset for every namespace
          credentials,
        },
        {
          name: 'archives',
          title: 'Archives (s3://datasets/archives/)',
          endpoint: options.s3Endpoint,
          region: options.s3Region,
          bucket: DEMO_BUCKET,
          prefix: 'archives/',
          shared: true,
          credentials,
        },
      ],
    },
  };
}

export interface RunningPortal {
  url: string;
  /** where the backend's output goes (when not inherited) */
  logFile?: string;
  /** the last lines of the backend's output */
  logTail(): string;
  stop(): Promise<void>;
}

/** Signs in through the dev provider like the browser does; returns a Backstage token. */
export async function devSignIn(url: string, user: string): Promise<string> {
  const res = await fetch(`${url}/api/auth/dev/refresh`, {
    headers: {
      'x-portal-dev-user': user,
      'x-requested-with': 'XMLHttpRequest',
    },
  });
  if (!res.ok) {
    throw new Error(`sign-in as ${user}: ${res.status} ${await res.text()}`);
  }
  const body = (await res.json()) as {
    backstageIdentity?: { token?: string };
  };
  const token = body.backstageIdentity?.token;
  if (!token) throw new Error(`sign-in as ${user}: no token in the answer`);
  return token;
}

/**
 * Starts the portal backend and waits until it serves the app, signs the owner in and the catalog has
 * the entity.
 */
export async function startPortalBackend(options: {
  access: ClusterAccess;
  port?: number;
  /** inherit stdout/stderr (npm run portal) instead of writing a log file */
  inheritOutput?: boolean;
  log: Log;
  readyTimeoutMs?: number;
}): Promise<RunningPortal> {
  const { access, log } = options;
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const operator = readOperatorKubeconfig(access.operatorKubeconfig);
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kube-restore-portal-'));
  const generated = path.join(runDir, 'app-config.generated.yaml');
  // JSON is YAML.
  fs.writeFileSync(
    generated,
    `${JSON.stringify(
      portalConfig({
        baseUrl: url,
        port,
        server: operator.server,
        caData: operator.caData,
        s3Endpoint: access.s3.endpoint,
        s3Region: access.s3.region,
      }),
      null,
      2,
    )}\n`,
  );
  const logFile = options.inheritOutput
    ? undefined
    : path.join(runDir, 'backend.log');
  const out = logFile ? fs.openSync(logFile, 'w') : 'inherit';
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--enable-source-maps',
      '--require',
      path.join(E2E_DIR, 'scripts', 'exit-with-parent.cjs'),
      '--require',
      require.resolve('@backstage/cli-node/config/nodeTransform.cjs', {
        paths: [REPO_ROOT],
      }),
      path.join(BACKEND_DIR, 'src', 'index.ts'),
      '--config',
      path.join(PORTAL_DIR, 'app-config.yaml'),
      '--config',
      generated,
    ],
    {
      cwd: BACKEND_DIR,
      detached: true,
      stdio: ['pipe', out, out],
      env: {
        ...process.env,
        NODE_ENV: 'development',
        PORTAL_OPERATOR_TOKEN: operator.token,
        PORTAL_S3_ACCESS_KEY_ID: access.s3.accessKeyId,
        PORTAL_S3_SECRET_ACCESS_KEY: access.s3.secretAccessKey,
      },
    },
  );
  if (typeof out === 'number') fs.closeSync(out);
  let exited: string | undefined;
  const exitedPromise = new Promise<void>(resolve =>
    child.once('exit', (code, signal) => {
      exited = String(code ?? signal);
      resolve();
    }),
  );
  const logTail = () =>
    logFile && fs.existsSync(logFile)
      ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-60).join('\n')
      : '';
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  const onExit = () => killGroup('SIGKILL');
  process.once('exit', onExit);
  const stop = async () => {
    process.removeListener('exit', onExit);
    if (exited === undefined) {
      killGroup('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), 10_000);
      await exitedPromise;
      clearTimeout(timer);
    }
    fs.rmSync(runDir, { recursive: true, force: true });
  };

  log(`starting the portal backend on ${url}`);
  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  let lastError = '';
  for (;;) {
    if (exited !== undefined) {
      await stop();
      throw new Error(
        `the portal backend exited (${exited}) before it was ready:\n${logTail()}`,
      );
    }
    if (Date.now() > deadline) {
      const tail = logTail();
      await stop();
      throw new Error(
        `the portal backend was not ready in time (${lastError}):\n${tail}`,
      );
    }
    try {
      const index = await fetch(`${url}/`);
      if (!index.ok) throw new Error(`GET / answered ${index.status}`);
      const token = await devSignIn(url, OWNER);
      const entity = await fetch(
        `${url}/api/catalog/entities/by-name/${ENTITY.kind}/${ENTITY.namespace}/${ENTITY.name}`,
        { headers: { authorization: `Bearer ${token}` } },
      );
      if (!entity.ok) {
        throw new Error(`the catalog answered ${entity.status} for the entity`);
      }
      break;
    } catch (error) {
      lastError = (error as Error).message;
      await new Promise(r => setTimeout(r, 500));
    }
  }
  log(`portal ready at ${url}`);
  return { url, logFile, logTail, stop };
}
