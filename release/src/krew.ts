/** krew: the archives of the standalone executables and the plugin manifest that names their sha256. */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { SeaPlatform } from './sea.ts';

export const RELEASES_URL =
  'https://github.com/kube-restore/kube-restore/releases/download';

export function archiveName(
  version: string,
  platform: { os: string; arch: string },
): string {
  return `kubectl-restore-v${version}-${platform.os}-${platform.arch}.tar.gz`;
}

export function sha256File(file: string): string {
  return crypto
    .createHash('sha256')
    .update(fs.readFileSync(file))
    .digest('hex');
}

/**
 * A tar.gz of `files` at the archive's top level, the same bytes for the same inputs: names sorted,
 * owner 0, mtime `epoch`, gzip without name or time.
 */
export function writeArchive(
  out: string,
  files: Array<{ name: string; from: string; mode: number }>,
  epoch: number,
): void {
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-krew-'));
  try {
    for (const f of files) {
      fs.copyFileSync(f.from, path.join(stage, f.name));
      fs.chmodSync(path.join(stage, f.name), f.mode);
    }
    const tar = path.join(stage, '..', `${path.basename(stage)}.tar`);
    execFileSync('tar', [
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      `--mtime=@${epoch}`,
      '--format=gnu',
      '-cf',
      tar,
      '-C',
      stage,
      ...files.map(f => f.name).sort(),
    ]);
    execFileSync('gzip', ['-9', '-n', '-f', tar]);
    fs.renameSync(`${tar}.gz`, out);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

/** The krew manifest (deploy/krew/restore.yaml) for `version`, one platform entry per archive. */
export function renderManifest(
  version: string,
  archives: Array<{ platform: SeaPlatform; sha256: string }>,
): string {
  const platforms = archives
    .map(
      ({ platform, sha256 }) => `    - selector:
        matchLabels:
          os: ${platform.os}
          arch: ${platform.arch}
      uri: ${RELEASES_URL}/v${version}/${archiveName(version, platform)}
      sha256: '${sha256}'
      bin: kubectl-restore
      files:
        - from: kubectl-restore
          to: .
        - from: kubectl_complete-restore
          to: .
        - from: LICENSE
          to: .
        - from: LICENSE.node
          to: .`,
    )
    .join('\n');
  return `# krew plugin manifest, written by \`npm run release\` (release/src/release.ts) with the sha256 of the
# archives it builds; release/src/test-release.ts recomputes them. Before a release is published:
#   kubectl krew install --manifest=deploy/krew/restore.yaml --archive=dist/release/${version}/${archiveName(version, { os: 'linux', arch: 'amd64' })}
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: restore
spec:
  version: v${version}
  homepage: https://github.com/kube-restore/kube-restore
  shortDescription: Seed PersistentVolumeClaims from S3
  description: |
    Restores data from S3-compatible object storage (a prefix of objects or a tar archive) into a new
    or existing PersistentVolumeClaim, as an ordinary Job in the target namespace, with your own
    Kubernetes identity. Plans (size, Glacier thaw cost, RBAC preflight), live progress, status,
    logs and clean-up. One executable with Node.js inside: nothing else to install.
  caveats: |
    The restore Jobs run the image ghcr.io/kube-restore/restore-job:${version}.
    Namespace admins opt in with deploy/rbac; users who can \`edit\` a namespace can restore into it.
  platforms:
${platforms}
`;
}

/** The uri and sha256 of each platform of a krew manifest. */
export function manifestArchives(
  text: string,
): Array<{ uri: string; sha256: string }> {
  const doc = YAML.parse(text);
  return (doc?.spec?.platforms ?? []).map(
    (p: { uri: string; sha256: string }) => ({
      uri: p.uri,
      sha256: p.sha256,
    }),
  );
}
