/** Where the job package and the image build's inputs are, wherever this code was bundled to. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * job-image/, found upwards from this file: from its sources (jest, tsc) or from a bundle in some
 * package's dist/ (the repository root's package.json names the workspace dir).
 */
function findJobDir(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    let name: string | undefined;
    try {
      name = JSON.parse(
        readFileSync(path.join(dir, 'package.json'), 'utf8'),
      ).name;
    } catch {
      // no package.json here
    }
    if (name === '@kube-restore/job') return dir;
    if (name === 'kube-restore') return path.join(dir, 'job-image');
    if (path.dirname(dir) === dir) {
      throw new Error(
        `cannot find job-image/ above ${start}: run this from the kube-restore repository`,
      );
    }
  }
}

// eslint-disable-next-line no-restricted-syntax -- findJobDir works from sources and bundles alike
export const JOB_DIR = findJobDir(__dirname);
export const REPO_DIR = path.dirname(JOB_DIR);

/** ${KUBE_RESTORE_CACHE:-~/.cache/kube-restore}/image-inputs: downloads and compressed layers. */
export function imageInputsDir(): string {
  const cache =
    process.env.KUBE_RESTORE_CACHE ||
    path.join(os.homedir(), '.cache', 'kube-restore');
  return path.join(cache, 'image-inputs');
}
