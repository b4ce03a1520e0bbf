/**
 * Runs one command under GNU time (`/usr/bin/time`), which reports wall time, user and system CPU
 * and the peak resident set of the command and its waited-for children (a pipeline under `sh -c`
 * counts its largest member).
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';

export const GNU_TIME = '/usr/bin/time';

export interface Usage {
  wallS: number;
  userS: number;
  sysS: number;
  maxRssKiB: number;
  exitCode: number;
}

/** Parses the one line `%e %U %S %M %x` that measure() asks GNU time for. */
export function parseTimeLine(text: string): Usage {
  const lines = text.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  const m = /^([\d.]+) ([\d.]+) ([\d.]+) (\d+) (-?\d+)$/.exec(last.trim());
  if (!m)
    throw new Error(
      `cannot parse GNU time output: ${JSON.stringify(text.slice(-300))}`,
    );
  return {
    wallS: Number(m[1]),
    userS: Number(m[2]),
    sysS: Number(m[3]),
    maxRssKiB: Number(m[4]),
    exitCode: Number(m[5]),
  };
}

export interface Command {
  argv: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export interface Measured extends Usage {
  /** Wall time of the command plus a syncfs of the target's filesystem: when the data is durable. */
  durableS: number;
  stderr: string;
  stdout: string;
}

/** Runs `cmd` to completion under GNU time; then `sync -f syncPath` (timed) when given. */
export async function measure(
  cmd: Command,
  timeFile: string,
  syncPath?: string,
): Promise<Measured> {
  const started = process.hrtime.bigint();
  const { stdout, stderr } = await run(
    GNU_TIME,
    ['-o', timeFile, '-f', '%e %U %S %M %x', ...cmd.argv],
    cmd.env,
    cmd.cwd,
  );
  const usage = parseTimeLine(await fsp.readFile(timeFile, 'utf8'));
  let durableS = Number(process.hrtime.bigint() - started) / 1e9;
  if (syncPath) {
    await run('sync', ['-f', syncPath]);
    durableS = Number(process.hrtime.bigint() - started) / 1e9;
  }
  return { ...usage, durableS, stdout, stderr };
}

/** Runs a command; resolves with its output whatever the exit code (GNU time records it). */
export function run(
  command: string,
  args: string[],
  env?: Record<string, string>,
  cwd?: string,
): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: env ?? process.env,
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    child.stdout.on('data', (d: Buffer) => {
      if (outBytes < 1 << 20) out.push(d);
      outBytes += d.length;
    });
    child.stderr.on('data', (d: Buffer) => {
      err.push(d);
      if (err.length > 256) err.splice(0, err.length - 256);
    });
    child.on('error', reject);
    child.on('close', code =>
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code: code ?? -1,
      }),
    );
  });
}

/** Like run(), but a non-zero exit is an error carrying the command's stderr. */
export async function runOk(
  command: string,
  args: string[],
  env?: Record<string, string>,
  cwd?: string,
): Promise<string> {
  const r = await run(command, args, env, cwd);
  if (r.code !== 0)
    throw new Error(
      `${command} ${args.slice(0, 6).join(' ')} exited ${r.code}: ${r.stderr.slice(-2000)}`,
    );
  return r.stdout;
}
