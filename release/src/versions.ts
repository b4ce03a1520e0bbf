/**
 * The one version of kube-restore and every place that repeats it.
 *
 * The source is the root package.json's `version`. Everything else (each workspace package, their
 * dependencies on one another, core's DEFAULT_JOB_IMAGE tag, the plugin's `version` command, the krew
 * manifest, the Dockerfile's example tag, the documented image tags, the OpenAPI document and the
 * golden manifests) is a copy: `versionPlaces()` finds each copy, `setVersion()` (npm run set-version)
 * rewrites them all, and versions.test.ts fails when one disagrees.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The repository root: the nearest folder up from the working directory whose package.json has workspaces. */
function findRepoRoot(): string {
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (
      fs.existsSync(file) &&
      JSON.parse(fs.readFileSync(file, 'utf8')).workspaces
    )
      return dir;
    if (path.dirname(dir) === dir)
      throw new Error(
        `no package.json with workspaces above ${process.cwd()}: run from the repository`,
      );
  }
}

export const REPO_ROOT = findRepoRoot();

/** A semantic version, as npm accepts it (no leading v, no build metadata). */
export const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;
const V = String.raw`\d+\.\d+\.\d+(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?`;

/** The job image's repository; its tag is the version. */
export const JOB_IMAGE_REPOSITORY = 'ghcr.io/kube-restore/restore-job';

export function jobImage(version: string): string {
  return `${JOB_IMAGE_REPOSITORY}:${version}`;
}

/** One copy of the version: where it is and what it says now. */
export interface VersionCopy {
  /** Path relative to the repository root. */
  file: string;
  /** What this copy is, e.g. `dependencies["@kube-restore/core"]`. */
  what: string;
  value: string;
}

/** A rule finding copies in text files: every match of `pattern` carries the version in group `v`. */
interface TextRule {
  what: string;
  pattern: RegExp;
}

const readText = (file: string) =>
  fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');

/** The root package.json's version: the one source. */
export function sourceVersion(): string {
  const version = JSON.parse(readText('package.json')).version;
  if (typeof version !== 'string' || !SEMVER.test(version)) {
    throw new Error(
      `package.json: "version" must be a semantic version, found ${JSON.stringify(version)}`,
    );
  }
  return version;
}

/** The workspace folders (relative), from the root package.json's `workspaces` (dir or dir/*). */
export function workspaceDirs(): string[] {
  const patterns: string[] = JSON.parse(readText('package.json')).workspaces;
  const dirs: string[] = [];
  for (const pattern of patterns) {
    if (pattern.endsWith('/*')) {
      const parent = pattern.slice(0, -2);
      for (const entry of fs
        .readdirSync(path.join(REPO_ROOT, parent), { withFileTypes: true })
        .sort((a, b) => a.name.localeCompare(b.name))) {
        const dir = `${parent}/${entry.name}`;
        if (
          entry.isDirectory() &&
          fs.existsSync(path.join(REPO_ROOT, dir, 'package.json'))
        )
          dirs.push(dir);
      }
    } else if (pattern.includes('*')) {
      throw new Error(
        `workspace pattern ${pattern}: only dir and dir/* are supported`,
      );
    } else dirs.push(pattern);
  }
  return dirs;
}

const DEPENDENCY_FIELDS = [
  'dependencies',
  'devDependencies',
  'peerDependencies',
  'optionalDependencies',
] as const;

/** Copies in workspace package.json files: their versions and their dependencies on one another. */
function packageJsonCopies(): VersionCopy[] {
  const copies: VersionCopy[] = [];
  const files = [
    'package.json',
    ...workspaceDirs().map(d => `${d}/package.json`),
  ];
  const names = new Set(
    files.slice(1).map(f => JSON.parse(readText(f)).name as string),
  );
  for (const file of files) {
    const pkg = JSON.parse(readText(file));
    copies.push({ file, what: 'version', value: String(pkg.version) });
    for (const field of DEPENDENCY_FIELDS) {
      for (const [name, range] of Object.entries(pkg[field] ?? {})) {
        if (names.has(name))
          copies.push({
            file,
            what: `${field}["${name}"]`,
            value: String(range),
          });
      }
    }
  }
  return copies;
}

/**
 * Text files with copies. Each rule must match at least once in each of its files, so a copy that
 * is reworded out of the pattern's reach fails the test instead of silently dropping out.
 */
const TEXT_PLACES: Array<{ files: () => string[]; rules: TextRule[] }> = [
  {
    files: () => ['packages/restore-core/src/version.ts'],
    rules: [
      {
        what: 'KUBE_RESTORE_VERSION (DEFAULT_JOB_IMAGE tag)',
        pattern: new RegExp(`KUBE_RESTORE_VERSION = '(?<v>${V})'`, 'g'),
      },
    ],
  },
  {
    files: () => ['kubectl-plugin/src/commands/version.ts'],
    rules: [
      {
        what: 'PLUGIN_VERSION',
        pattern: new RegExp(`PLUGIN_VERSION = '(?<v>${V})'`, 'g'),
      },
    ],
  },
  {
    files: () => ['kubectl-plugin/src/observe.test.ts'],
    rules: [
      {
        what: 'the version command test',
        pattern: new RegExp(
          `toMatchObject\\(\\{ version: '(?<v>${V})' \\}\\)`,
          'g',
        ),
      },
    ],
  },
  {
    files: () => ['job-image/Dockerfile'],
    rules: [
      {
        what: 'example image tag',
        pattern: new RegExp(`restore-job:(?<v>${V})`, 'g'),
      },
    ],
  },
  {
    files: () => ['deploy/populator/deployment.yaml'],
    rules: [
      {
        what: 'the populator image tag',
        pattern: new RegExp(
          `ghcr\\.io/kube-restore/populator:(?<v>${V})$`,
          'gm',
        ),
      },
    ],
  },
  {
    files: () => ['deploy/krew/restore.yaml'],
    rules: [
      {
        what: 'spec.version',
        pattern: new RegExp(`^  version: v(?<v>${V})$`, 'gm'),
      },
      {
        what: 'archive uri',
        pattern: new RegExp(
          `/download/v(?<v>${V})/kubectl-restore-v(?<w>${V})-(?:linux|darwin)-`,
          'g',
        ),
      },
    ],
  },
  {
    files: () => ['plugins/backstage-backend/src/schema/openapi.yaml'],
    rules: [
      {
        what: 'info.version',
        pattern: new RegExp(`^  version: (?<v>${V})$`, 'gm'),
      },
    ],
  },
  {
    files: () => [
      ...goldenFiles('packages/restore-core/src/__golden__'),
      ...goldenFiles('kubectl-plugin/src/__golden__'),
    ],
    rules: [
      {
        what: 'app.kubernetes.io/version label',
        pattern: new RegExp(`app\\.kubernetes\\.io/version: (?<v>${V})$`, 'gm'),
      },
    ],
  },
];

function goldenFiles(dir: string): string[] {
  return fs
    .readdirSync(path.join(REPO_ROOT, dir))
    .filter(f => f.endsWith('.yaml'))
    .sort()
    .map(f => `${dir}/${f}`)
    .filter(f => /app\.kubernetes\.io\/version:/.test(readText(f)));
}

/**
 * The default job image with a version tag, wherever it is written in the repository's own text files
 * (documentation, golden manifests, examples): found by a scan so a new mention is covered at once.
 */
const IMAGE_TAG = new RegExp(
  `${JOB_IMAGE_REPOSITORY.replace(/[.]/g, '\\.')}:(?<v>${V})(?![0-9A-Za-z.-])`,
  'g',
);
const SCANNED = /\.(md|ya?ml|ts|tsx|mjs|cjs|json)$|(^|\/)Dockerfile$/;
const NOT_SCANNED =
  /(^|\/)(node_modules|dist|dist-types|CHANGELOG\.md$)|^package-lock\.json$|^\.changeset\//;

function scannedFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(REPO_ROOT, dir), {
      withFileTypes: true,
    })) {
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.name.startsWith('.') || NOT_SCANNED.test(rel)) continue;
      if (entry.isDirectory()) walk(rel);
      else if (SCANNED.test(rel)) out.push(rel);
    }
  };
  walk('');
  return out.sort();
}

function textCopies(): VersionCopy[] {
  const copies: VersionCopy[] = [];
  for (const place of TEXT_PLACES) {
    for (const file of place.files()) {
      const text = readText(file);
      for (const rule of place.rules) {
        const matches = [...text.matchAll(rule.pattern)];
        if (matches.length === 0)
          copies.push({ file, what: `${rule.what} (not found)`, value: '' });
        for (const m of matches)
          for (const value of Object.values(m.groups!))
            copies.push({ file, what: rule.what, value });
      }
    }
  }
  for (const file of scannedFiles()) {
    if (file.startsWith('release/src/')) continue; // this code and its tests
    for (const m of readText(file).matchAll(IMAGE_TAG))
      copies.push({
        file,
        what: `${JOB_IMAGE_REPOSITORY} tag`,
        value: m.groups!.v,
      });
  }
  return copies;
}

/** Every copy of the version in the repository, the source's own included. */
export function versionPlaces(): VersionCopy[] {
  return [...packageJsonCopies(), ...textCopies()];
}

/** The copies that do not say `version` (all of them agree when this is empty). */
export function disagreements(version = sourceVersion()): VersionCopy[] {
  return versionPlaces().filter(c => c.value !== version);
}

/** Rewrites every copy to `version`; returns the files it changed. */
export function setVersion(version: string): string[] {
  if (!SEMVER.test(version))
    throw new Error(`not a semantic version: ${JSON.stringify(version)}`);
  const changed = new Set<string>();
  const write = (file: string, before: string, after: string) => {
    if (after !== before) {
      fs.writeFileSync(path.join(REPO_ROOT, file), after);
      changed.add(file);
    }
  };

  const pkgFiles = [
    'package.json',
    ...workspaceDirs().map(d => `${d}/package.json`),
  ];
  const names = new Set(
    pkgFiles.slice(1).map(f => JSON.parse(readText(f)).name as string),
  );
  for (const file of pkgFiles) {
    const before = readText(file);
    const pkg = JSON.parse(before);
    pkg.version = version;
    for (const field of DEPENDENCY_FIELDS)
      for (const name of Object.keys(pkg[field] ?? {}))
        if (names.has(name)) pkg[field][name] = version;
    write(file, before, `${JSON.stringify(pkg, null, 2)}\n`);
  }

  const replaceGroups = (text: string, pattern: RegExp) =>
    text.replace(pattern, (...args) => {
      const match: string = args[0];
      const groups: Record<string, string> = args[args.length - 1];
      let out = match;
      for (const old of new Set(Object.values(groups)))
        out = out.split(old).join(version);
      return out;
    });
  for (const place of TEXT_PLACES)
    for (const file of place.files()) {
      const before = readText(file);
      let after = before;
      for (const rule of place.rules)
        after = replaceGroups(after, rule.pattern);
      write(file, before, after);
    }
  for (const file of scannedFiles()) {
    if (file.startsWith('release/src/')) continue;
    const before = readText(file);
    write(file, before, replaceGroups(before, IMAGE_TAG));
  }
  return [...changed].sort();
}
