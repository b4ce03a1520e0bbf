/** Processes, files and tools the steps of `npm run test:release` use. */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../versions.ts';
import { check } from './context.ts';

export function sh(
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
export function readJson(file: string) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}
export function workspaceVersionOf(pkgDir: string, dep: string): string {
  const p = readJson(path.join(REPO_ROOT, pkgDir, 'package.json'));
  const v = p.dependencies?.[dep] ?? p.devDependencies?.[dep];
  if (!v) throw new Error(`${pkgDir}/package.json has no ${dep}`);
  return v;
}

/** $KUBECTL, else the harness's (servers.env of npm run build:servers), else kubectl on PATH. */
export function findKubectl(): string {
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

/** Polls `url` until it answers 2xx (its body), failing early when the backend `child` exits or says it failed. */
export async function waitForHealth(
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
