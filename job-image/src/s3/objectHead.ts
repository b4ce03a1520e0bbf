/**
 * What an object's response headers say about it, a HEAD's or a GET's: one rule for each header the
 * job reads, validated, so that a malformed value is an error naming the key rather than a silent 0
 * or NaN. No I/O here (access.ts sends the HEAD).
 */
import { RestoreError } from '../errors';

export type ResponseHeaders = Record<string, string | undefined>;

/** An object as a HEAD describes it (S3's header names in comments). */
export interface ObjectHead {
  key: string;
  /** content-length */
  size: number;
  /** etag, as sent (quoted) */
  etag?: string;
  /** last-modified, when it is a date */
  lastModified?: Date;
  /** x-amz-storage-class (S3 sends none for STANDARD) */
  storageClass?: string;
  /** x-amz-archive-status: an Intelligent-Tiering archive tier */
  archiveStatus?: string;
  /** x-amz-restore: a thaw's state */
  restore?: string;
  /** x-amz-version-id (none for an unversioned object's "null") */
  versionId?: string;
}

/** Storage classes and archive tiers: letters, digits and _ . - (MinIO's tiers are named by users). */
const TOKEN = /^[A-Za-z0-9_.-]{1,64}$/;
/** S3's version ids are at most 1,024 visible characters. */
const VERSION_ID = /^[\x21-\x7e]{1,1024}$/;
/** A byte count: digits, within a safe integer. */
const BYTE_COUNT = /^\d{1,16}$/;

function malformed(key: string, what: string): RestoreError {
  return new RestoreError(
    'SERVER_ERROR',
    `"${key}": the S3 response's ${what}`,
    { entry: key },
  );
}

/** At most 40 characters of a header's value, quoted, for a message. */
function shown(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
}

/**
 * Content-Length as a byte count; undefined when there is none. A value that is not one (a
 * duplicated header arrives joined, "5, 5") is a SERVER_ERROR naming the key.
 */
export function contentLengthOf(
  headers: ResponseHeaders,
  key: string,
): number | undefined {
  const raw = headers['content-length'];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!BYTE_COUNT.test(raw) || !Number.isSafeInteger(n))
    throw malformed(key, `Content-Length ${shown(raw)} is not a byte count`);
  return n;
}

/** Last-Modified as a date; undefined when there is none or it is not a date (the listing's is used). */
export function lastModifiedOf(headers: ResponseHeaders): Date | undefined {
  const raw = headers['last-modified'];
  if (!raw) return undefined;
  const d = new Date(raw);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function tokenOf(
  headers: ResponseHeaders,
  name: string,
  key: string,
  pattern = TOKEN,
): string | undefined {
  const raw = headers[name];
  // An empty header says nothing (the SDK read it as '', which planned as STANDARD).
  if (raw === undefined || raw === '') return undefined;
  if (!pattern.test(raw))
    throw malformed(key, `${name} ${shown(raw)} is malformed`);
  return raw;
}

/** A HEAD's headers as an ObjectHead; a missing or malformed Content-Length is an error naming the key. */
export function parseObjectHead(
  key: string,
  headers: ResponseHeaders,
): ObjectHead {
  const size = contentLengthOf(headers, key);
  if (size === undefined) throw malformed(key, 'HEAD has no Content-Length');
  // Read for what it tells, not relied on (a source pins no version by it): a malformed one is none.
  const rawVersion = headers['x-amz-version-id'];
  const versionId =
    rawVersion !== undefined && VERSION_ID.test(rawVersion)
      ? rawVersion
      : undefined;
  return {
    key,
    size,
    etag: headers.etag || undefined,
    lastModified: lastModifiedOf(headers),
    storageClass: tokenOf(headers, 'x-amz-storage-class', key),
    archiveStatus: tokenOf(headers, 'x-amz-archive-status', key),
    restore: headers['x-amz-restore'] || undefined,
    versionId: versionId === 'null' ? undefined : versionId,
  };
}

/**
 * The storage class a source plans with: S3 sends x-amz-archive-status (with the class
 * INTELLIGENT_TIERING, which some servers leave out) for an Intelligent-Tiering object in an
 * archive tier, which thaw.ts then HEADs to check.
 */
export function plannedStorageClass(head: ObjectHead): string | undefined {
  return (
    head.storageClass ??
    (head.archiveStatus ? 'INTELLIGENT_TIERING' : undefined)
  );
}
