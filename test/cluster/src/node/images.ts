/*
 * The images the real nodes run, as OCI archives imported into each node's containerd (nothing can
 * be pulled): the job image that `npm run image` builds, and the pod sandbox image made here from
 * the pause program that build-servers.sh compiles, with the job image's archive writer.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeOciArchive } from '@kube-restore/job/src/image/oci';
import { REPO_ROOT } from '../binaries';
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

/** The job image's archive, which must have been built (`npm run image`; `npm test` does it first). */
export function jobImageArchive(): string {
  if (!fs.existsSync(JOB_IMAGE_ARCHIVE))
    throw new Error(
      `the job image is not built: ${JOB_IMAGE_ARCHIVE} is missing. Run \`npm run image\` (npm test and npm run demo run it for you).`,
    );
  return JOB_IMAGE_ARCHIVE;
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
