// npm run release: everything a user installs, at the one version (the root package.json's), into
// dist/release/<version>/:
//   npm/*.tgz                                   @kube-restore/common, core, the three Backstage packages
//                                               (backstage-cli package build + prepack) and the kubectl plugin
//   kubectl-restore-v<V>-linux-<arch>.tar.gz    krew archives: the standalone executable (Node inside),
//                                               its completion helper, LICENSE and Node's license
//   restore.yaml                                the krew manifest with their sha256 (also written to deploy/krew/)
//   restore-job-<V>.oci.tar                     the job image, tagged ghcr.io/kube-restore/restore-job:<V>
//                                               (from `npm run image`)
//   populator-<V>.oci.tar                       the populator image (deploy/populator), tagged
//                                               ghcr.io/kube-restore/populator:<V> (the same `npm run image`)
//   kube-restore-<V>.yaml, kube-restore-opt-in-<V>.yaml, deploy/   the install manifests
//   BUILD-INFO (version, commit, whether the checkout had changes), SHA256SUMS
// Refuses a checkout with uncommitted changes unless --allow-dirty (a trial build).
// Refuses to start when a copy of the version disagrees (release/src/versions.ts).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import {
  archiveName,
  renderManifest,
  sha256File,
  writeArchive,
} from './krew.ts';
import {
  SEA_PLATFORMS,
  buildExecutable,
  checkExecutableStructure,
  nodeLicense,
  seaBlob,
} from './sea.ts';
import {
  REPO_ROOT,
  disagreements,
  jobImage,
  sourceVersion,
} from './versions.ts';

/** The workspace folders packed to npm, dependencies first. */
export const NPM_PACKAGES = [
  'packages/restore-common',
  'packages/restore-core',
  'plugins/backstage-common',
  'plugins/backstage-backend',
  'plugins/backstage-frontend',
  'plugins/backstage-scaffolder-backend-module',
  'kubectl-plugin',
] as const;

const log = (line: string) => process.stderr.write(`[release] ${line}\n`);
const root = (...p: string[]) => path.join(REPO_ROOT, ...p);

function run(cmd: string, args: string[], cwd = REPO_ROOT): void {
  log(`${path.relative(REPO_ROOT, cwd) || '.'}$ ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 2, 2] });
}

/** Seconds since the epoch of the last commit: the mtime inside archives, so they are reproducible. */
function sourceDateEpoch(): number {
  if (process.env.SOURCE_DATE_EPOCH)
    return Number(process.env.SOURCE_DATE_EPOCH);
  return Number(
    execFileSync('git', ['log', '-1', '--format=%ct'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    }).trim(),
  );
}

/** The documents of a kustomization, in its resources' order (plain files and folders only). */
function kustomizeDocuments(dir: string): string[] {
  const k = YAML.parse(
    fs.readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8'),
  );
  const keys = Object.keys(k).filter(
    key => !['apiVersion', 'kind', 'resources'].includes(key),
  );
  if (keys.length)
    throw new Error(
      `${dir}/kustomization.yaml: ${keys.join(', ')} would change the resources; flattening handles only resources`,
    );
  const docs: string[] = [];
  for (const r of k.resources as string[]) {
    const p = path.join(dir, r);
    if (fs.statSync(p).isDirectory()) docs.push(...kustomizeDocuments(p));
    else
      docs.push(
        `# Source: deploy/${path.relative(root('deploy'), p)}\n${fs.readFileSync(p, 'utf8').trim()}\n`,
      );
  }
  return docs;
}

function installManifests(version: string, out: string): void {
  const header = (what: string) =>
    `# kube-restore ${version}: ${what}\n# Job image: ${jobImage(version)}\n`;
  fs.writeFileSync(
    path.join(out, `kube-restore-${version}.yaml`),
    `${header('cluster-wide install (kubectl apply -f); grants nothing in any namespace by itself')}---\n${kustomizeDocuments(root('deploy')).join('---\n')}`,
  );
  fs.writeFileSync(
    path.join(out, `kube-restore-opt-in-${version}.yaml`),
    `${header('lets the operator into one namespace (kubectl apply -n NAMESPACE -f)')}---\n${kustomizeDocuments(root('deploy/rbac/opt-in')).join('---\n')}`,
  );
  fs.cpSync(root('deploy'), path.join(out, 'deploy'), { recursive: true });
}

async function main(): Promise<void> {
  const version = sourceVersion();
  const wrong = disagreements(version);
  if (wrong.length) {
    for (const c of wrong)
      log(`${c.file}: ${c.what} is ${JSON.stringify(c.value)}, not ${version}`);
    throw new Error(
      'the version copies disagree: npm run set-version -- X.Y.Z, then try again',
    );
  }
  // A release is built from a commit: a checkout with changes would ship what no commit holds.
  const changes = execFileSync(
    'git',
    ['status', '--porcelain', '--untracked-files=no'],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    },
  ).trim();
  if (changes && !process.argv.includes('--allow-dirty'))
    throw new Error(
      `the checkout has uncommitted changes (git status); commit them, or pass --allow-dirty for a trial build:\n${changes}`,
    );
  const commit = execFileSync('git', ['rev-parse', 'HEAD'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  }).trim();
  const out = root('dist/release', version);
  const work = root('dist/release-work');
  fs.rmSync(out, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(path.join(out, 'npm'), { recursive: true });
  fs.mkdirSync(work, { recursive: true });
  const epoch = sourceDateEpoch();

  // 1. npm tarballs. Declarations first (backstage-cli package build reads dist-types/), then each
  //    package's build, then npm pack, whose prepack/postpack scripts swap in publishConfig.
  fs.rmSync(root('dist-types'), { recursive: true, force: true });
  run('npx', ['tsc', '-p', 'release/tsconfig.types.json']);
  run('node', ['build.mjs', '--sea'], root('kubectl-plugin'));
  for (const dir of NPM_PACKAGES) {
    if (dir !== 'kubectl-plugin')
      run('npx', ['backstage-cli', 'package', 'build'], root(dir));
    run(
      'npm',
      ['pack', '--silent', '--pack-destination', path.join(out, 'npm')],
      root(dir),
    );
  }

  // 2. Standalone executables and krew archives.
  const blob = seaBlob(
    root('kubectl-plugin/dist/sea/kubectl-restore.cjs'),
    work,
  );
  const archives = [];
  for (const platform of SEA_PLATFORMS) {
    const exe = path.join(
      work,
      `kubectl-restore-${platform.os}-${platform.arch}`,
    );
    log(`standalone executable ${platform.os}/${platform.arch}`);
    await buildExecutable(platform, blob, exe);
    const problems = checkExecutableStructure(
      exe,
      platform,
      fs.readFileSync(blob),
    );
    if (problems.length) throw new Error(`${exe}: ${problems.join('; ')}`);
    const archive = path.join(out, archiveName(version, platform));
    writeArchive(
      archive,
      [
        { name: 'kubectl-restore', from: exe, mode: 0o755 },
        {
          name: 'kubectl_complete-restore',
          from: root('kubectl-plugin/bin/kubectl_complete-restore'),
          mode: 0o755,
        },
        { name: 'LICENSE', from: root('LICENSE'), mode: 0o644 },
        { name: 'LICENSE.node', from: nodeLicense(platform), mode: 0o644 },
      ],
      epoch,
    );
    archives.push({ platform, sha256: sha256File(archive) });
  }
  const manifest = renderManifest(version, archives);
  fs.writeFileSync(path.join(out, 'restore.yaml'), manifest);
  fs.writeFileSync(root('deploy/krew/restore.yaml'), manifest);

  // 3. The job and populator images, tagged with the version (job-image/image.mjs).
  run('npm', ['run', '-s', 'image']);
  const image = root('job-image/dist/restore-job.oci.tar');
  if (!fs.existsSync(image)) throw new Error(`npm run image wrote no ${image}`);
  fs.copyFileSync(image, path.join(out, `restore-job-${version}.oci.tar`));
  const populatorImage = root(
    'packages/restore-populator/dist/populator.oci.tar',
  );
  if (!fs.existsSync(populatorImage))
    throw new Error(`npm run image wrote no ${populatorImage}`);
  fs.copyFileSync(
    populatorImage,
    path.join(out, `populator-${version}.oci.tar`),
  );

  // 4. Install manifests.
  installManifests(version, out);
  fs.writeFileSync(
    path.join(out, 'BUILD-INFO'),
    `version: ${version}\ncommit: ${commit}\nuncommitted-changes: ${changes ? 'yes (--allow-dirty)' : 'no'}\nnode: ${process.version}\n`,
  );

  // 5. Checksums of every file, then the listing.
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs
      .readdirSync(dir, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(path.relative(out, p));
    }
  };
  walk(out);
  fs.writeFileSync(
    path.join(out, 'SHA256SUMS'),
    files.map(f => `${sha256File(path.join(out, f))}  ${f}\n`).join(''),
  );
  fs.rmSync(work, { recursive: true, force: true });
  for (const file of [
    ...files.filter(f => !f.startsWith('deploy/')),
    'SHA256SUMS',
  ])
    process.stdout.write(
      `${String(fs.statSync(path.join(out, file)).size).padStart(12)}  ${file}\n`,
    );
  process.stdout.write(`dist/release/${version}\n`);
}

main().catch(error => {
  log(`FAILED: ${(error as Error).message}`);
  process.exit(1);
});
