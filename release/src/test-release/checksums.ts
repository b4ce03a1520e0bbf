/**
 * Step 1: SHA256SUMS of the release folder, and the krew manifest's sha256 recomputed from the archives
 * (the release copy and deploy/krew/restore.yaml).
 */
import fs from 'node:fs';
import path from 'node:path';
import { manifestArchives, sha256File } from '../krew.ts';
import { SEA_PLATFORMS } from '../sea.ts';
import { REPO_ROOT } from '../versions.ts';
import { check, out, step, version } from './context.ts';

export function checkFolder(): void {
  check(
    fs.existsSync(out),
    `${path.relative(REPO_ROOT, out)} is missing: run \`npm run release\` first`,
  );
  step(`1. checksums in ${path.relative(REPO_ROOT, out)}`);
  const sums = fs
    .readFileSync(path.join(out, 'SHA256SUMS'), 'utf8')
    .trim()
    .split('\n');
  for (const line of sums) {
    const [sum, file] = line.split(/\s+/);
    check(
      sha256File(path.join(out, file)) === sum,
      `SHA256SUMS: ${file} changed since the release was built`,
    );
  }
  const manifest = fs.readFileSync(path.join(out, 'restore.yaml'), 'utf8');
  check(
    manifest ===
      fs.readFileSync(path.join(REPO_ROOT, 'deploy/krew/restore.yaml'), 'utf8'),
    "deploy/krew/restore.yaml differs from the release folder's restore.yaml (commit the one npm run release wrote)",
  );
  const archives = manifestArchives(manifest);
  check(
    archives.length === SEA_PLATFORMS.length,
    `restore.yaml: ${archives.length} platforms, expected ${SEA_PLATFORMS.length}`,
  );
  for (const a of archives) {
    const file = path.join(out, path.basename(a.uri));
    check(
      fs.existsSync(file),
      `restore.yaml names ${path.basename(a.uri)}, which is not in the release`,
    );
    check(
      sha256File(file) === a.sha256,
      `restore.yaml: sha256 of ${path.basename(a.uri)} is ${sha256File(file)}, the manifest says ${a.sha256}`,
    );
    check(
      a.uri.includes(`/v${version}/`),
      `restore.yaml: ${a.uri} is not under v${version}`,
    );
  }
}
