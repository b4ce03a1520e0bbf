/*
 * cluster:up / cluster:down for people (and the demo): a detached daemon runs startCluster() (the
 * control plane, two real nodes, MinIO); `up` prints shell export lines on stdout (logs on stderr) and is idempotent while the
 * cluster is up; `down` stops it by PID. Run through scripts/cluster.cjs (bundled with esbuild).
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BUILD_SCRIPT,
  cacheDir,
  cleanStaleRuns,
  runsDir,
  startCluster,
} from './cluster';
import { isAlive, killRun, processStartTime } from './processes';

interface UpState {
  runId: string;
  daemonPid: number;
  daemonStart?: string;
  runDir: string;
  env: Record<string, string>;
  pids: Record<string, number>;
  kubectl: string;
  logFile: string;
  startedMs: number;
}

const cache = cacheDir();
// where the state of the cluster:up daemon lives (tests point it elsewhere so as not to touch a person's cluster)
const upDir = process.env.KUBE_RESTORE_UP_DIR || cache;
const upFile = path.join(upDir, 'cluster-up.json');
const daemonLog = path.join(upDir, 'cluster-up.log');
const err = (m: string) => process.stderr.write(`[cluster] ${m}\n`);

function readUp(): UpState | undefined {
  try {
    return JSON.parse(fs.readFileSync(upFile, 'utf8'));
  } catch {
    return undefined;
  }
}

function daemonAlive(s: UpState): boolean {
  return (
    isAlive(s.daemonPid) &&
    (!s.daemonStart || processStartTime(s.daemonPid) === s.daemonStart)
  );
}

function q(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}

function printExports(vars: Record<string, string>): void {
  const order = [
    'KUBECONFIG',
    'KUBECONFIG_OPERATOR',
    'KUBECONFIG_ALICE',
    'KUBECONFIG_BOB',
    'KUBE_RESTORE_S3_ENDPOINT',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_REGION',
  ];
  for (const k of order)
    if (vars[k] !== undefined)
      process.stdout.write(`export ${k}=${q(vars[k])}\n`);
}

async function removeRun(s: UpState): Promise<void> {
  const left = await killRun(s.runId, 5000);
  if (left.length)
    err(`warning: processes ${left.join(', ')} survived SIGKILL`);
  fs.rmSync(path.join('/dev/shm', `kube-restore-${s.runId}`), {
    recursive: true,
    force: true,
  });
  if (process.env.KUBE_RESTORE_KEEP !== '1')
    fs.rmSync(s.runDir, { recursive: true, force: true });
  fs.rmSync(upFile, { force: true });
}

function build(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'bash',
      [BUILD_SCRIPT, 'k8s', 'etcd', 'minio'],
      { env: { ...process.env, KUBE_RESTORE_CACHE: cache } },
      e =>
        e
          ? reject(new Error('building the test servers failed (see above)'))
          : resolve(),
    );
    child.stderr?.pipe(process.stderr);
  });
}

async function up(): Promise<number> {
  const existing = readUp();
  if (existing) {
    if (daemonAlive(existing)) {
      err(
        `cluster ${existing.runId} is already up (daemon pid ${existing.daemonPid})`,
      );
      printExports(existing.env);
      return 0;
    }
    err(
      `cluster ${existing.runId}: daemon ${existing.daemonPid} is gone; cleaning up`,
    );
    await removeRun(existing);
  }
  await cleanStaleRuns(cache, err);
  await build();
  const t0 = Date.now();
  fs.mkdirSync(upDir, { recursive: true });
  const fd = fs.openSync(daemonLog, 'w');
  const child = spawn(process.execPath, [__filename, 'daemon'], {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, KUBE_RESTORE_CLUSTER_VERBOSE: '1' },
  });
  fs.closeSync(fd);
  child.unref();
  let exited: string | undefined;
  child.on('exit', (code, sig) => (exited = String(code ?? sig)));
  err(`starting cluster (daemon pid ${child.pid}, log ${daemonLog})`);
  const deadline = Date.now() + 10 * 60_000;
  while (Date.now() < deadline) {
    const s = readUp();
    if (s && s.daemonPid === child.pid) {
      err(
        `cluster ${s.runId} up in ${((Date.now() - t0) / 1000).toFixed(1)}s; stop it with: npm run cluster:down`,
      );
      err(
        `use it from a shell: eval "$(npm run -s cluster:up)"; kubectl get nodes`,
      );
      err(`kubectl of the cluster's version: ${s.kubectl}`);
      printExports(s.env);
      return 0;
    }
    if (exited !== undefined) {
      err(`the cluster daemon exited (${exited}); its log:`);
      process.stderr.write(fs.readFileSync(daemonLog, 'utf8').slice(-6000));
      return 1;
    }
    await new Promise(r => setTimeout(r, 200));
  }
  err('timed out waiting for the cluster; stopping it');
  try {
    process.kill(child.pid!, 'SIGTERM');
  } catch {
    /* gone */
  }
  return 1;
}

async function daemon(): Promise<number> {
  const t0 = Date.now();
  const cluster = await startCluster({
    installSignalHandlers: false,
    verbose: true,
  });
  const state: UpState = {
    runId: cluster.runId,
    daemonPid: process.pid,
    daemonStart: processStartTime(process.pid),
    runDir: cluster.runDir,
    env: cluster.env(),
    pids: cluster.pids(),
    kubectl: cluster.binaries.kubectl,
    logFile: daemonLog,
    startedMs: Date.now() - t0,
  };
  fs.writeFileSync(`${upFile}.tmp`, JSON.stringify(state, null, 2));
  fs.renameSync(`${upFile}.tmp`, upFile);
  err(
    `cluster ${cluster.runId} ready in ${state.startedMs} ms; pids ${JSON.stringify(state.pids)}`,
  );
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    err(`${sig}: stopping`);
    try {
      await cluster.stop();
    } catch (e) {
      err(String((e as Error).message));
    }
    const s = readUp();
    if (s?.daemonPid === process.pid) fs.rmSync(upFile, { force: true });
    process.exit(0);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(sig, () => void stop(sig));
  return new Promise<number>(() => {}); // run until signalled
}

async function down(): Promise<number> {
  const s = readUp();
  if (!s) {
    const cleaned = await cleanStaleRuns(cache, err);
    err(
      cleaned.length
        ? `no cluster was up; cleaned ${cleaned.length} stale run(s)`
        : 'no cluster is up',
    );
    return 0;
  }
  if (daemonAlive(s)) {
    process.kill(s.daemonPid, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (daemonAlive(s) && Date.now() < deadline)
      await new Promise(r => setTimeout(r, 100));
    if (daemonAlive(s)) {
      err(`daemon ${s.daemonPid} did not stop; killing it`);
      process.kill(s.daemonPid, 'SIGKILL');
    }
  }
  await removeRun(s);
  err(`cluster ${s.runId} stopped`);
  return 0;
}

async function status(): Promise<number> {
  const s = readUp();
  if (!s) {
    err('no cluster is up');
    return 1;
  }
  const alive = daemonAlive(s);
  process.stdout.write(
    `${JSON.stringify(
      {
        runId: s.runId,
        up: alive,
        daemon: { pid: s.daemonPid, alive },
        pids: Object.fromEntries(
          Object.entries(s.pids).map(([k, p]) => [
            k,
            { pid: p, alive: isAlive(p) },
          ]),
        ),
        kubectl: s.kubectl,
        runDir: s.runDir,
        log: s.logFile,
        runs: fs.existsSync(runsDir(cache))
          ? fs.readdirSync(runsDir(cache))
          : [],
      },
      null,
      2,
    )}\n`,
  );
  return alive ? 0 : 1;
}

async function env(): Promise<number> {
  const s = readUp();
  if (!s || !daemonAlive(s)) {
    err('no cluster is up: npm run cluster:up');
    return 1;
  }
  printExports(s.env);
  return 0;
}

const commands: Record<string, () => Promise<number>> = {
  up,
  down,
  daemon,
  status,
  env,
};

export function main(argv = process.argv.slice(2)): void {
  const cmd = commands[argv[0]];
  if (!cmd) {
    err(
      `usage: cluster <${Object.keys(commands)
        .filter(c => c !== 'daemon')
        .join('|')}>`,
    );
    process.exit(2);
  }
  cmd().then(
    code => process.exit(code),
    e => {
      err(String((e as Error).stack ?? e));
      process.exit(1);
    },
  );
}

if (require.main === module) main();
