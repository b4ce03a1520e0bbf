/**
 * The populator image, `ghcr.io/kube-restore/populator:<version>` (the version of
 * packages/restore-populator/package.json), built by the same Node image builder as the job image:
 * the same base and Node layers, and the populator's entry point (packages/restore-populator/src/main.ts)
 * bundled at /app/populator.cjs with the job bundle's esbuild options. Runs as nonroot (65532) and
 * writes nothing to its root filesystem, so a restricted pod can run it read-only.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  buildNodeImage,
  bundleApp,
  DISTROLESS_ENV,
  NodeImage,
} from './nodeImage';
import { ImageRunConfig } from './oci';
import { JOB_DIR, REPO_DIR } from './paths';

export const POPULATOR_DIR = path.join(
  REPO_DIR,
  'packages',
  'restore-populator',
);

const version: string = JSON.parse(
  readFileSync(path.join(POPULATOR_DIR, 'package.json'), 'utf8'),
).version;

export const POPULATOR_IMAGE_NAME = 'ghcr.io/kube-restore/populator';
/** `ghcr.io/kube-restore/populator:<packages/restore-populator/package.json version>`. */
export const POPULATOR_IMAGE_REFERENCE = `${POPULATOR_IMAGE_NAME}:${version}`;
/** Where `npm run image` writes the archive. */
export const POPULATOR_IMAGE_ARCHIVE = path.join(
  POPULATOR_DIR,
  'dist',
  'populator.oci.tar',
);

export const POPULATOR_IMAGE_CONFIG: ImageRunConfig = {
  User: '65532:65532',
  WorkingDir: '/app',
  Env: [...DISTROLESS_ENV, 'NODE_ENV=production', 'HOME=/tmp', 'TMPDIR=/tmp'],
  // the Kubernetes client's HTTP stack uses punycode and url.parse: their deprecation warnings are
  // not the operator's to act on, and would be the first lines of every replica's log
  Entrypoint: [
    '/nodejs/bin/node',
    '--disable-warning=DEP0040',
    '--disable-warning=DEP0169',
    '/app/populator.cjs',
  ],
};

export interface BuildPopulatorImageOptions {
  /** Default POPULATOR_IMAGE_ARCHIVE. */
  path?: string;
  cacheDir?: string;
  /** The files for /app; default: bundlePopulator() from the sources as they are now. */
  appFiles?: string[];
  log?: (line: string) => void;
}

/** Builds the populator image archive; quick when its inputs are cached. */
export async function buildPopulatorImage(
  options: BuildPopulatorImageOptions = {},
): Promise<NodeImage> {
  return buildNodeImage({
    path: options.path ?? POPULATOR_IMAGE_ARCHIVE,
    reference: POPULATOR_IMAGE_REFERENCE,
    config: POPULATOR_IMAGE_CONFIG,
    app: `populator ${version}`,
    appFiles: async dir => options.appFiles ?? bundlePopulator(dir),
    cacheDir: options.cacheDir,
    log: options.log,
  });
}

/** populator.cjs (with bundle.json's options, as the job's bundle), its legal comments and licences. */
export async function bundlePopulator(dir: string): Promise<string[]> {
  return bundleApp(dir, {
    entry: path.join(POPULATOR_DIR, 'src', 'main.ts'),
    outName: 'populator.cjs',
    workingDir: POPULATOR_DIR,
    options: JSON.parse(
      readFileSync(path.join(JOB_DIR, 'bundle.json'), 'utf8'),
    ),
  });
}
