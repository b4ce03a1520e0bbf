/**
 * Real tools that read and run OCI images, for the image tests: umoci (unpacks an OCI layout as the
 * image spec says), chroot, and a throw-away containerd with runc (imports an archive as
 * `ctr images import` and `kind load image-archive` do, and runs a container from it).
 * A missing tool fails the test with what to install; these tests need root.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; never throws on a non-zero exit (the test looks at `code`). */
export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', chunk => (stdout += chunk));
    child.stderr.on('data', chunk => (stderr += chunk));
    const timer = setTimeout(
      () => child.kill('SIGKILL'),
      options.timeoutMs ?? 120_000,
    );
    child.on('error', reject);
    child.on('close', code => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A command that never reads its input may exit before it is written: EPIPE, not a failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Throws unless `command` is on PATH and this process is root, naming what provides it. */
export function requireTool(command: string, provider: string): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `the image tests run ${command} as root (chroot, mounts): run them as root`,
    );
  }
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${command} is missing: ${provider}`);
  }
}

export const SETUP =
  'run scripts/setup.sh, which installs it (containerd, runc)';

/** `umoci unpack` of an OCI archive's `tag` into `dir`/bundle; returns the rootfs. */
export async function unpackArchive(
  archive: string,
  tag: string,
  dir: string,
): Promise<string> {
  requireTool('umoci', 'install it: apt-get install umoci');
  const layout = path.join(dir, 'layout');
  await fsp.mkdir(layout, { recursive: true });
  const untar = await run('tar', ['-xf', archive, '-C', layout]);
  if (untar.code !== 0) throw new Error(`tar -xf ${archive}: ${untar.stderr}`);
  const unpack = await run('umoci', [
    'unpack',
    '--image',
    `${layout}:${tag}`,
    path.join(dir, 'bundle'),
  ]);
  if (unpack.code !== 0) throw new Error(`umoci unpack: ${unpack.stderr}`);
  return path.join(dir, 'bundle', 'rootfs');
}

export interface Containerd {
  /** `ctr --address <socket> <args>`. */
  ctr(args: string[]): Promise<Run>;
  stop(): Promise<void>;
}

/** A containerd of its own (root, state, socket under a temp dir; no CRI), with runc. */
export async function startContainerd(): Promise<Containerd> {
  requireTool('containerd', SETUP);
  requireTool('ctr', SETUP);
  requireTool('runc', SETUP);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-ctd-'));
  const socket = path.join(dir, 'containerd.sock');
  const config = path.join(dir, 'config.toml');
  await fsp.writeFile(
    config,
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${socket}"`,
      '[ttrpc]',
      `  address = "${socket}.ttrpc"`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('containerd', ['--config', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', chunk => (log = (log + chunk).slice(-4000)));
  const exited = new Promise<void>(resolve =>
    child.on('exit', () => resolve()),
  );
  const ctr = (args: string[]) => run('ctr', ['--address', socket, ...args]);

  const stop = async () => {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise(r => setTimeout(r, 10_000))]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    // Snapshots of containers that did not end cleanly may still be mounted: never delete through a mount.
    for (const mount of mountsUnder(dir).reverse())
      await run('umount', ['-l', mount]);
    await fsp.rm(dir, { recursive: true, force: true });
  };

  for (const deadline = Date.now() + 20_000; ;) {
    if ((await ctr(['version'])).code === 0) return { ctr, stop };
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`containerd did not start:\n${log}`);
    }
    await new Promise(r => setTimeout(r, 200));
  }
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map(line => line.split(' ')[4])
    .filter(mountPoint => mountPoint?.startsWith(`${dir}/`));
}
