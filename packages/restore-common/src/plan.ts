/**
 * What a plan reports before anything is created: the size of a source and the access checks. Pure data,
 * computed by core (sizeSource, checkAccess), shown by kubectl, the Backstage backend and the browser.
 */
import type { ArchiveClass, ArchivedTotals, ThawEstimate } from './glacier';

/** Objects, bytes and archived objects under a source, and the PVC size they need. */
export interface SourceSize {
  objects: number;
  bytes: number;
  /** Archived objects (Glacier classes) that need a thaw before they can be read, by class. */
  archived: Partial<Record<ArchiveClass, ArchivedTotals>>;
  archivedObjects: number;
  archivedBytes: number;
  thawCost: ThawEstimate[];
  /** Bytes on disk with 4 KiB blocks plus per-file metadata. */
  diskBytes: number;
  /** The PVC size to ask for: disk bytes plus the overage, rounded up to whole Gi. */
  recommendedSize: string;
  /** True when the unpacked size of a compressed archive had to be estimated. */
  estimated: boolean;
  /** Largest object, for sanity checks. */
  largestObjectBytes: number;
  /**
   * How the job will verify the objects, by the checksum S3 lists for each (`CRC64NVME`,
   * `CRC32C (composite)`, `MD5` for a single-part ETag, `MD5 (multipart ETag)`, `size only`): object
   * counts. Absent from sizers that do not know.
   */
  verification?: Record<string, number>;
}

/** One SelfSubjectAccessReview answer: may the caller do `verb` on `resource` in `namespace`? */
export interface AccessCheck {
  verb: string;
  resource: string;
  group: string;
  subresource?: string;
  namespace: string;
  allowed: boolean;
  reason?: string;
}

/** The target PVC as a plan sees it. */
export interface TargetPvcInfo {
  name: string;
  namespace: string;
  exists: boolean;
  /** `status.capacity.storage`, else the requested size. */
  capacity?: string;
  phase?: string;
  storageClassName?: string;
  /** Name of the restore that created it, when kube-restore did. */
  createdBy?: string;
  /** Set when the PVC could not be read (e.g. forbidden); `exists` is then false but unknown. */
  error?: string;
}
