/*
 * Child processes of a cluster run: every server and every job process gets its own process group
 * and the environment marker KUBE_RESTORE_CLUSTER_RUN=<runId>, so that teardown (and a later start,
 * or the reaper, after an interrupted run) can find and kill all of them by PID, and nothing else.
 */
import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const RUN_MARKER = 'KUBE_RESTORE_CLUSTER_RUN';

export interface ManagedProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  /** resolves with the exit code (or the signal name) */
  exited: Promise<number | string>;
  exitStatus?: number | string;
}

export function spawnManaged(
  runId: string,
  name: string,
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; logFile: string; cwd?: string },
): ManagedProcess {
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const fd = fs.openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      cwd: opts.cwd,
      env: { ...(opts.env ?? process.env), [RUN_MARKER]: runId },
      stdio: ['ignore', fd, fd],
      detached: true, // own session and process group
    });
  } finally {
    fs.closeSync(fd);
  }
  if (child.pid === undefined) {
    throw new Error(`could not start ${name} (${command})`);
  }
  child.unref();
  const mp: ManagedProcess = {
    name,
    pid: child.pid,
    child,
    logFile: opts.logFile,
    exited: undefined as any,
  };
  mp.exited = new Promise(resolve => {
    child.on('exit', (code, signal) => {
      mp.exitStatus = code ?? signal ?? 'unknown';
      resolve(mp.exitStatus);
    });
    child.on('error', err => {
      mp.exitStatus = `spawn error: ${err.message}`;
      resolve(mp.exitStatus);
    });
  });
  return mp;
}

/** Whether a process exists and is not a zombie (an exited child its new parent has not reaped yet). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e: any) {
    if (e.code !== 'EPERM') return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return (
      stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
    );
  } catch {
    return false;
  }
}

/** Start time of a process (clock ticks since boot), to tell a recycled PID from the original. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

/** PIDs of all live processes whose environment carries the marker of this run. */
export function markedPids(runId: string): number[] {
  const needle = Buffer.from(`\0${RUN_MARKER}=${runId}\0`);
  const first = Buffer.from(`${RUN_MARKER}=${runId}\0`);
  const pids: number[] = [];
  let entries: string[] = [];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${e}/environ`);
      if (env.includes(needle) || env.subarray(0, first.length).equals(first)) {
        // zombies have an empty environ; only live processes reach here
        pids.push(pid);
      }
    } catch {
      /* gone or not ours */
    }
  }
  return pids;
}

export function killGroupOrPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

/** SIGTERM every marked process, SIGKILL what is left after graceMs; resolves with survivors (none). */
export async function killRun(
  runId: string,
  graceMs = 5000,
): Promise<number[]> {
  let pids = markedPids(runId);
  for (const p of pids) killGroupOrPid(p, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.length && Date.now() < deadline) {
    await new Promise(r => setTimeout(r, 100));
    pids = markedPids(runId);
  }
  for (const p of pids) killGroupOrPid(p, 'SIGKILL');
  const killDeadline = Date.now() + 5000;
  while (pids.length && Date.now() < killDeadline) {
    await new Promise(r => setTimeout(r, 50));
    pids = markedPids(runId);
  }
  return pids;
}

export function killRunSync(runId: string): void {
  for (const p of markedPids(runId)) killGroupOrPid(p, 'SIGKILL');
}

/**
 * A detached watchdog: when the owner process dies without tearing the cluster down (SIGKILL, a
 * crashed test worker), it kills every marked process of the run and removes its directories.
 * It exits by itself once the run's state file is gone (normal teardown).
 */
export function startReaper(opts: {
  ownerPid: number;
  ownerStart?: string;
  runId: string;
  stateFile: string;
  dirs: string[];
  /** run as `node <script> <dirs[0]>` before the directories are removed */
  cleanupScript?: string;
}): number | undefined {
  const code = `
const fs = require('fs');
const [ownerPid, ownerStart, runId, stateFile, cleanupScript, ...dirs] = process.argv.slice(1);
const marker = Buffer.from('${RUN_MARKER}=' + runId + '\\0');
function startOf(pid) { try { const s = fs.readFileSync('/proc/' + pid + '/stat', 'utf8'); return s.slice(s.lastIndexOf(')') + 2).split(' ')[19]; } catch { return undefined; } }
function ownerAlive() { const s = startOf(ownerPid); return s !== undefined && (ownerStart === '-' || s === ownerStart); }
function marked() {
  const out = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\\d+$/.test(e) || Number(e) === process.pid) continue;
    try { const env = fs.readFileSync('/proc/' + e + '/environ'); if (env.includes(marker)) out.push(Number(e)); } catch {}
  }
  return out;
}
function kill(sig) { for (const p of marked()) { try { process.kill(-p, sig); } catch { try { process.kill(p, sig); } catch {} } } }
const timer = setInterval(() => {
  if (!fs.existsSync(stateFile)) process.exit(0);
  if (ownerAlive()) return;
  clearInterval(timer);
  kill('SIGTERM');
  setTimeout(() => {
    kill('SIGKILL');
    setTimeout(() => {
      if (cleanupScript !== '-') { try { require('child_process').spawnSync(process.execPath, [cleanupScript, dirs[0]], { stdio: 'ignore', timeout: 60000 }); } catch {} }
      for (const d of dirs) { try { fs.rmSync(d, { recursive: true, force: true }); } catch {} }
      process.exit(0);
    }, 500);
  }, 3000);
}, 1000);
`;
  const child = spawn(
    process.execPath,
    [
      '-e',
      code,
      String(opts.ownerPid),
      opts.ownerStart ?? '-',
      opts.runId,
      opts.stateFile,
      opts.cleanupScript ?? '-',
      ...opts.dirs,
    ],
    { detached: true, stdio: 'ignore', env: { PATH: process.env.PATH ?? '' } },
  );
  child.unref();
  return child.pid;
}
