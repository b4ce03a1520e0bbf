/**
 * The job image, `ghcr.io/kube-restore/restore-job:<version>`, built without Docker by the shared
 * Node image builder (nodeImage.ts): what job-image/Dockerfile would build on
 * gcr.io/distroless/nodejs24-debian12:nonroot, with the restore-job bundle at /app.
 * src/image/dockerfile.test.ts checks that JOB_IMAGE_CONFIG and the Dockerfile agree.
 */
import { execFileSync } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  buildNodeImage,
  bundleApp,
  DISTROLESS_ENV,
  ImagePackage,
  NodeImage,
} from './nodeImage';
import { ImageRunConfig } from './oci';
import { JOB_DIR } from './paths';

export {
  DEBIAN_PACKAGES,
  DISTROLESS_ENV,
  NONROOT,
  PACKAGES_FILE,
} from './nodeImage';
export type { ImagePackage };

const version: string = JSON.parse(
  readFileSync(path.join(JOB_DIR, 'package.json'), 'utf8'),
).version;

export const JOB_IMAGE_NAME = 'ghcr.io/kube-restore/restore-job';
/** `ghcr.io/kube-restore/restore-job:<job-image/package.json version>`, the name the archive gives the image. */
export const JOB_IMAGE_REFERENCE = `${JOB_IMAGE_NAME}:${version}`;
/** Where `npm run image` writes the archive. */
export const JOB_IMAGE_ARCHIVE = path.join(
  JOB_DIR,
  'dist',
  'restore-job.oci.tar',
);

/** The Dockerfile's runtime stage: USER, WORKDIR, ENV (after the base's) and ENTRYPOINT. */
export const JOB_IMAGE_CONFIG: ImageRunConfig = {
  User: '65532:65532',
  WorkingDir: '/app',
  Env: [
    ...DISTROLESS_ENV,
    'NODE_ENV=production',
    'HOME=/tmp',
    'TMPDIR=/tmp',
    'KUBE_RESTORE_TARGET=/data',
  ],
  Entrypoint: [
    '/nodejs/bin/node',
    '--max-semi-space-size=4',
    '/app/restore-job.cjs',
  ],
};

export interface BuildJobImageOptions {
  /** Default JOB_IMAGE_ARCHIVE. */
  path?: string;
  /** Downloads and compressed layers; default ${KUBE_RESTORE_CACHE:-~/.cache/kube-restore}/image-inputs. */
  cacheDir?: string;
  /** The files for /app; default: bundleForImage() from the sources as they are now. */
  appFiles?: string[];
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

export type JobImage = NodeImage;

/** Builds the job image archive; quick when its inputs are cached. */
export async function buildJobImage(
  options: BuildJobImageOptions = {},
): Promise<JobImage> {
  const appFiles = options.appFiles;
  return buildNodeImage({
    path: options.path ?? JOB_IMAGE_ARCHIVE,
    reference: JOB_IMAGE_REFERENCE,
    config: JOB_IMAGE_CONFIG,
    app: `restore-job ${version}`,
    appFiles: async dir => appFiles ?? bundleForImage(dir),
    cacheDir: options.cacheDir,
    log: options.log,
  });
}

/**
 * restore-job.cjs, hash-worker.cjs and control-client.cjs, with the Dockerfile's esbuild options (bundle.json's, legal
 * comments linked), and restore-job.cjs.LEGAL.txt when esbuild finds legal comments; native.node, the
 * native addon compiled by build.mjs (native/native.json's sources and flags): what the Dockerfile copies to /app.
 * Also THIRD-PARTY-LICENSES.txt: the licences of the npm packages in the bundle.
 */
export async function bundleForImage(dir: string): Promise<string[]> {
  await bundleApp(dir, {
    entry: path.join(JOB_DIR, 'src', 'cli.ts'),
    outName: 'restore-job.cjs',
    // The hash worker, which the program starts from beside itself (fileHasher.ts), and the SDK's
    // control client, which it loads from there at its first control call (loadControlClient.ts).
    more: [
      {
        entry: path.join(JOB_DIR, 'src', 'hashWorker.ts'),
        outName: 'hash-worker.cjs',
      },
      {
        entry: path.join(JOB_DIR, 'src', 's3', 'controlClient.ts'),
        outName: 'control-client.cjs',
      },
    ],
    workingDir: JOB_DIR,
    options: JSON.parse(
      readFileSync(path.join(JOB_DIR, 'bundle.json'), 'utf8'),
    ),
  });
  execFileSync(
    process.execPath,
    [path.join(JOB_DIR, 'build.mjs'), '--native', dir],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return (await fsp.readdir(dir)).sort().map(file => path.join(dir, file));
}
