/**
 * Step 3: the standalone kubectl executable from the linux-amd64 archive with no Node on PATH:
 * `kubectl-restore version` and `kubectl restore version` (real kubectl, PATH of kubectl and the plugin
 * only); the arm64 one by structure (AArch64 ELF, fuse set, the same blob as amd64).
 */
import fs from 'node:fs';
import path from 'node:path';
import { archiveName } from '../krew.ts';
import { SEA_FUSE, SEA_PLATFORMS, nodeVersion } from '../sea.ts';
import { jobImage } from '../versions.ts';
import { check, out, step, version } from './context.ts';
import { findKubectl, sh } from './tools.ts';

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

export function checkExecutables(tmp: string): void {
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
