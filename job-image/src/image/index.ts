/**
 * The job image without Docker, for `npm run image` and the test harness:
 *   import { buildJobImage, JOB_IMAGE_REFERENCE } from '@kube-restore/job/src/image';
 *   const { path, reference, digest } = await buildJobImage();   // job-image/dist/restore-job.oci.tar
 * and the archive writer on its own, for other images: writeOciArchive (./oci).
 */
export {
  buildJobImage,
  JOB_IMAGE_ARCHIVE,
  JOB_IMAGE_CONFIG,
  JOB_IMAGE_NAME,
  JOB_IMAGE_REFERENCE,
  PACKAGES_FILE,
} from './jobImage';
export type { BuildJobImageOptions, ImagePackage, JobImage } from './jobImage';
export { writeOciArchive, MEDIA_TYPES } from './oci';
export type {
  ImageRunConfig,
  Layer,
  LayerEntry,
  OciArchive,
  OciArchiveOptions,
} from './oci';
