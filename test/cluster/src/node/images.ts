/*
 * The images the real nodes run, as OCI archives imported into each node's containerd (nothing can
 * be pulled): the job and populator images that `npm run image` builds, and the pod sandbox image made here from
 * the pause program that build-servers.sh compiles, with the job image's archive writer.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeOciArchive } from '@kube-restore/job/src/image/oci';
import { REPO_ROOT } from '../paths';
import { PAUSE_IMAGE } from './containerd';

export const JOB_IMAGE_ARCHIVE = path.join(
  REPO_ROOT,
  'job-image',
  'dist',
  'restore-job.oci.tar',
);

const jobImageVersion: string = JSON.parse(
  fs.readFileSync(path.join(REPO_ROOT, 'job-image', 'package.json'), 'utf8'),
).version;

/** The reference the job image's archive carries (and core's default image names). */
export const JOB_IMAGE = `ghcr.io/kube-restore/restore-job:${jobImageVersion}`;

/** Where `npm run image` writes the populator image's archive. */
export const POPULATOR_IMAGE_ARCHIVE = path.join(
  REPO_ROOT,
  'packages',
  'restore-populator',
  'dist',
  'populator.oci.tar',
);

const populatorVersion: string = JSON.parse(
  fs.readFileSync(
    path.join(REPO_ROOT, 'packages', 'restore-populator', 'package.json'),
    'utf8',
  ),
).version;

/** The reference the populator image's archive carries (and deploy/populator's Deployment names). */
export const POPULATOR_IMAGE = `ghcr.io/kube-restore/populator:${populatorVersion}`;

const inRepo = (...parts: string[]) => path.join(REPO_ROOT, ...parts);

/** What each image is built from: a change to any of these after its build makes it stale. */
const JOB_IMAGE_INPUTS = [
  inRepo('job-image', 'src'),
  inRepo('job-image', 'bundle.json'),
  inRepo('job-image', 'native'),
  inRepo('job-image', 'build.mjs'),
  inRepo('packages', 'restore-common', 'src'),
];
const POPULATOR_IMAGE_INPUTS = [
  inRepo('packages', 'restore-populator', 'src'),
  inRepo('packages', 'restore-populator', 'package.json'),
  inRepo('packages', 'restore-core', 'src'),
  inRepo('packages', 'restore-common', 'src'),
  inRepo('job-image', 'src', 'image'),
  inRepo('job-image', 'bundle.json'),
];
const isTest = (name: string) =>
  /\.test\.tsx?$/.test(name) ||
  name === '__testUtils__' ||
  name === '__golden__';

/** The most recently modified input file, tests left out. */
function newestInput(
  inputs: string[],
): { file: string; mtimeMs: number } | undefined {
  let newest: { file: string; mtimeMs: number } | undefined;
  const visit = (p: string) => {
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(p)) if (!isTest(e)) visit(path.join(p, e));
    } else if (!newest || st.mtimeMs > newest.mtimeMs) {
      newest = { file: p, mtimeMs: st.mtimeMs };
    }
  };
  inputs.forEach(visit);
  return newest;
}

/** `archive`, which must exist and be newer than every one of `inputs` (tests left out). */
export function freshArchive(
  what: string,
  archive: string,
  inputs: string[],
): string {
  if (!fs.existsSync(archive))
    throw new Error(
      `the ${what} is not built: ${archive} is missing. Run \`npm run image\` (npm test and npm run demo run it for you).`,
    );
  const built = fs.statSync(archive).mtimeMs;
  const newest = newestInput(inputs);
  if (newest && newest.mtimeMs > built)
    throw new Error(
      `the ${what} is stale: ${path.relative(REPO_ROOT, newest.file)} changed after ${path.relative(REPO_ROOT, archive)} was built. Run \`npm run image\`.`,
    );
  return archive;
}

/**
 * The job image's archive, which must have been built (`npm run image`; `npm test` and the demo do it
 * first) after the last change to its sources: every restore the harness runs runs this image.
 */
export function jobImageArchive(): string {
  return freshArchive('job image', JOB_IMAGE_ARCHIVE, JOB_IMAGE_INPUTS);
}

/** The populator image's archive, fresh like the job image's: deploy/populator's Deployment runs it. */
export function populatorImageArchive(): string {
  return freshArchive(
    'populator image',
    POPULATOR_IMAGE_ARCHIVE,
    POPULATOR_IMAGE_INPUTS,
  );
}

/** The sandbox image's archive in the cache, written once per pause binary. */
export async function pauseImageArchive(
  cacheDir: string,
  pauseBinary: string,
): Promise<string> {
  const out = path.join(
    cacheDir,
    'images',
    `${path.basename(pauseBinary)}.oci.tar`,
  );
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  await writeOciArchive({
    path: out,
    reference: PAUSE_IMAGE,
    config: { Entrypoint: ['/pause'], User: '65535:65535' },
    layers: [
      {
        name: 'pause',
        entries: [
          { path: '/pause', type: 'file', source: pauseBinary, mode: 0o755 },
        ],
      },
    ],
  });
  return out;
}
