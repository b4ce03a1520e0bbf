/*
 * The lifecycle of one harness run (a cluster, or a lone S3 server): its directories, its state
 * file with the owner's PID, the reaper, cleanup on signals and exit, and stale-run cleanup.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanupNodeResources, NODE_CLEANUP_SCRIPT } from './node/resources';
import {
  isAlive,
  killRun,
  killRunSync,
  processStartTime,
  startReaper,
} from './processes';

export function cacheDir(): string {
  return (
    process.env.KUBE_RESTORE_CACHE ||
    path.join(process.env.HOME || '/tmp', '.cache', 'kube-restore')
  );
}

export function runsDir(cache = cacheDir()): string {
  return path.join(cache, 'runs');
}

export interface RunState {
  runId: string;
  kind: string;
  ownerPid: number;
  ownerStart?: string;
  runDir: string;
  shmDir: string;
  createdAt: string;
  ready?: boolean;
  pids?: Record<string, number>;
  env?: Record<string, string>;
  kubectl?: string;
}

export interface Run {
  runId: string;
  runDir: string;
  /** on tmpfs (/dev/shm) when there is one */
  shmDir: string;
  logDir: string;
  keep: boolean;
  state: RunState;
  log(msg: string): void;
  writeState(): void;
  /** the synchronous last resort: SIGKILL everything, remove the directories */
  cleanupSync(): void;
  /** after an orderly stop: kill leftovers, remove directories; resolves with PIDs that survived */
  finish(): Promise<number[]>;
  removeHandlers(): void;
  readonly finished: boolean;
}

/** Kill the processes and remove the directories of runs whose owner process is gone. */
export async function cleanStaleRuns(
  cache = cacheDir(),
  log: (m: string) => void = () => {},
): Promise<string[]> {
  const cleaned: string[] = [];
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(runsDir(cache));
  } catch {
    return cleaned;
  }
  for (const id of entries) {
    const dir = path.join(runsDir(cache), id);
    let state: RunState | undefined;
    try {
      state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
    } catch {
      /* no state: a half-created run */
    }
    if (state) {
      const alive =
        isAlive(state.ownerPid) &&
        (!state.ownerStart ||
          processStartTime(state.ownerPid) === state.ownerStart);
      if (alive) continue;
    } else {
      // no state file: only remove it when it is older than a minute (could be starting right now)
      try {
        if (Date.now() - fs.statSync(dir).mtimeMs < 60_000) continue;
      } catch {
        continue;
      }
    }
    const left = await killRun(id, 2000);
    if (left.length) log(`stale run ${id}: could not kill ${left.join(', ')}`);
    cleanupNodeResources(dir);
    if (state?.shmDir)
      fs.rmSync(state.shmDir, { recursive: true, force: true });
    fs.rmSync(path.join('/dev/shm', `kube-restore-${id}`), {
      recursive: true,
      force: true,
    });
    fs.rmSync(dir, { recursive: true, force: true });
    cleaned.push(id);
    log(`cleaned stale run ${id}`);
  }
  return cleaned;
}

export async function createRun(opts: {
  kind: string;
  cacheDir?: string;
  verbose?: boolean;
  keep?: boolean;
  installSignalHandlers?: boolean;
}): Promise<Run> {
  const cache = opts.cacheDir ?? cacheDir();
  const runId = `${Date.now().toString(36)}-${crypto.randomBytes(3).toString('hex')}`;
  const runDir = path.join(runsDir(cache), runId);
  const shmRoot = fs.existsSync('/dev/shm')
    ? '/dev/shm'
    : path.join(runDir, 'tmpfs');
  const shmDir = path.join(shmRoot, `kube-restore-${runId}`);
  const logDir = path.join(runDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const harnessLog = path.join(logDir, 'harness.log');
  const verbose =
    opts.verbose ?? process.env.KUBE_RESTORE_CLUSTER_VERBOSE === '1';
  const keep = opts.keep ?? process.env.KUBE_RESTORE_KEEP === '1';
  const log = (msg: string) => {
    const line = `${new Date().toISOString()} ${msg}\n`;
    try {
      fs.appendFileSync(harnessLog, line);
    } catch {
      /* run dir removed */
    }
    if (verbose) process.stderr.write(`[${opts.kind} ${runId}] ${msg}\n`);
  };

  await cleanStaleRuns(cache, log);

  const state: RunState = {
    runId,
    kind: opts.kind,
    ownerPid: process.pid,
    ownerStart: processStartTime(process.pid),
    runDir,
    shmDir,
    createdAt: new Date().toISOString(),
  };
  const stateFile = path.join(runDir, 'state.json');
  const writeState = () =>
    fs.writeFileSync(stateFile, JSON.stringify(state, null, 2));
  writeState();
  startReaper({
    ownerPid: process.pid,
    ownerStart: state.ownerStart,
    runId,
    stateFile,
    dirs: [runDir, shmDir],
    cleanupScript: NODE_CLEANUP_SCRIPT,
  });

  let finished = false;
  const removeDirs = () => {
    // containers, mounts, cgroups and bridges of the run's nodes, before their directories
    cleanupNodeResources(runDir);
    fs.rmSync(shmDir, { recursive: true, force: true });
    if (!keep) fs.rmSync(runDir, { recursive: true, force: true });
    else fs.rmSync(stateFile, { force: true });
  };
  const cleanupSync = () => {
    if (finished) return;
    finished = true;
    killRunSync(runId);
    removeDirs();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  let removeHandlers = () => {};
  const onSignal = (sig: NodeJS.Signals) => {
    cleanupSync();
    removeHandlers();
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };
  const onExit = () => cleanupSync();
  removeHandlers = () => {
    for (const s of signals) process.off(s, onSignal);
    process.off('exit', onExit);
  };
  if (opts.installSignalHandlers ?? true) {
    for (const s of signals) process.on(s, onSignal);
    process.on('exit', onExit);
  }

  return {
    runId,
    runDir,
    shmDir,
    logDir,
    keep,
    state,
    log,
    writeState,
    cleanupSync,
    removeHandlers,
    get finished() {
      return finished;
    },
    async finish() {
      if (finished) return [];
      const left = await killRun(runId, 3000);
      removeHandlers();
      finished = true;
      removeDirs();
      return left;
    },
  };
}
