/**
 * The job and populator images without Docker, for `npm run image` and the test harness:
 *   import { buildJobImage, JOB_IMAGE_REFERENCE } from '@kube-restore/job/src/image';
 *   const { path, reference, digest } = await buildJobImage();   // job-image/dist/restore-job.oci.tar
 *   await buildPopulatorImage();           // packages/restore-populator/dist/populator.oci.tar
 * one builder for both (buildNodeImage, ./nodeImage),
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
export { buildNodeImage, bundleApp } from './nodeImage';
export type { NodeImage, NodeImageSpec } from './nodeImage';
export {
  buildPopulatorImage,
  POPULATOR_IMAGE_ARCHIVE,
  POPULATOR_IMAGE_CONFIG,
  POPULATOR_IMAGE_NAME,
  POPULATOR_IMAGE_REFERENCE,
} from './populatorImage';
export type { BuildPopulatorImageOptions } from './populatorImage';
export { writeOciArchive, MEDIA_TYPES } from './oci';
export type {
  ImageRunConfig,
  Layer,
  LayerEntry,
  OciArchive,
  OciArchiveOptions,
} from './oci';
