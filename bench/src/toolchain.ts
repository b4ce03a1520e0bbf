/**
 * What every mode needs before it measures: the job bundle (rebuilt unless another is given), the
 * harness's servers and mc, the peers s5cmd and rclone (scripts/build-peers.sh), the Debian aws
 * cli, and the version of each for RESULTS.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBinaries } from '@kube-restore/test-cluster';
import type { Args } from './args';
import { runOk } from './measure';
import type { Binaries } from './tools';

// eslint-disable-next-line no-restricted-syntax -- runs as the bundle bench/dist/bench.cjs
export const REPO = path.resolve(__dirname, '..', '..');
export const BENCH = path.join(REPO, 'bench');

/** ~/.cache/kube-restore/bench (or $KUBE_RESTORE_CACHE/bench): seeded datasets, work trees. */
export function benchCache(): string {
  return path.join(
    process.env.KUBE_RESTORE_CACHE ||
      path.join(os.homedir(), '.cache', 'kube-restore'),
    'bench',
  );
}

/** The first line of a command's output, or `unknown (why)`. */
export function versionOf(argv: string[]): string {
  try {
    return execFileSync(argv[0], argv.slice(1), {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
      .split('\n')[0]
      .trim();
  } catch (e) {
    return `unknown (${(e as Error).message.split('\n')[0]})`;
  }
}

async function peersEnv(): Promise<Record<string, string>> {
  const out = await runOk(
    'bash',
    [path.join(BENCH, 'scripts', 'build-peers.sh')],
    process.env as Record<string, string>,
  );
  const env: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  if (!env.S5CMD || !env.RCLONE)
    throw new Error('build-peers.sh did not report S5CMD and RCLONE');
  return env;
}

export interface Toolchain {
  bins: Binaries;
  /** The harness's server binaries by name (minio, versitygw, kubectl when built). */
  servers: Awaited<ReturnType<typeof ensureBinaries>>;
  minioVersion: string;
  versions: Record<string, string>;
}

export async function prepareToolchain(
  args: Args,
  log: (m: string) => void,
  serverNames: Parameters<typeof ensureBinaries>[1] = ['minio', 'mc'],
): Promise<Toolchain> {
  log('building the job bundle and checking the binaries');
  if (!args.jobBundle)
    await runOk(process.execPath, [path.join(REPO, 'job-image', 'build.mjs')]);
  const servers = await ensureBinaries(undefined, serverNames);
  const peers = await peersEnv();
  const aws = '/usr/bin/aws';
  if (!existsSync(aws))
    throw new Error(
      '/usr/bin/aws is missing: apt-get install -y awscli (the Debian package, not a pyenv aws)',
    );
  const bins: Binaries = {
    node: process.execPath,
    jobBundle:
      args.jobBundle ?? path.join(REPO, 'job-image', 'dist', 'restore-job.cjs'),
    s5cmd: peers.S5CMD,
    rclone: peers.RCLONE,
    mc: servers.mc,
    aws,
    curl: '/usr/bin/curl',
    tar: '/usr/bin/tar',
  };
  const minioVersion = path.basename(servers.minio).replace(/^minio-/, '');
  const versions: Record<string, string> = {
    node: process.version,
    // another bundle (scripts/job-at.sh names its directory after its commit) says what it is
    'job bundle': args.jobBundle
      ? args.jobBundle
      : `${path.relative(REPO, bins.jobBundle)} (git ${versionOf(['git', '-C', REPO, 'rev-parse', '--short', 'HEAD'])}${versionOf(['git', '-C', REPO, 'status', '--porcelain', 'job-image/src']) ? ', uncommitted changes in job-image/src' : ''})`,
    minio: minioVersion,
    // built from the module proxy without release ldflags: the module version is in the file name
    s5cmd: path.basename(bins.s5cmd).replace(/^s5cmd-/, ''),
    rclone: path.basename(bins.rclone).replace(/^rclone-/, ''),
    mc: path.basename(bins.mc).replace(/^mc-/, ''),
    aws: versionOf([aws, '--version']),
    curl: versionOf([bins.curl, '--version']),
    tar: versionOf([bins.tar, '--version']),
  };
  return { bins, servers, minioVersion, versions };
}
