/**
 * Reading the source from core: sizing a restore before it runs and the "does a backup exist" check.
 * Listings stream page by page; memory does not grow with the number of keys.
 */
import http from 'node:http';
import https from 'node:https';
import {
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import {
  ARCHIVED_STORAGE_CLASSES,
  ArchiveClass,
  ArchivedTotals,
  RestoreSource,
  bytesToGiQuantity,
  createKeyFilter,
  estimateThawCost,
  relativeKey,
  versionsAsOf,
  type SourceSize,
  type VersionEntry,
} from '@kube-restore/common';
import type { S3Keys } from './inlineCredentials';
import { translateS3Error } from './s3Errors';
import { CHECKSUM_PREFERENCE, verificationOf } from './verification';

export { translateS3Error } from './s3Errors';
export { verificationOf } from './verification';

export interface S3Access {
  /**
   * Static keys. Without them (and without `anonymous`) the AWS SDK's default chain is used: the
   * identity of whoever runs this code, so only callers acting as themselves (kubectl) rely on it.
   */
  credentials?: S3Keys;
  /** Unsigned requests (a public bucket, credentials type `anonymous`): no credentials looked for. */
  anonymous?: boolean;
  /** A ready client (tests, the Backstage backend's cached clients). */
  client?: S3Client;
  /** Timeouts of a client made here (tests set short ones); see DEFAULT_S3_TIMEOUTS. */
  timeouts?: S3Timeouts;
}

/** How long one S3 request of core may take, in milliseconds (each retry gets as long again). */
export interface S3Timeouts {
  /** To open the TCP (and TLS) connection. */
  connectionMs: number;
  /** For the whole request and its response. */
  requestMs: number;
}

/**
 * Core's requests are control-plane calls (a LIST page, a HEAD) that take well under a second; an
 * endpoint that accepts a connection and never answers must not hold a create (or the populator,
 * which reconciles one PVC at a time) forever. The SDK's HTTP handler has no timeout by default.
 */
export const DEFAULT_S3_TIMEOUTS: S3Timeouts = {
  connectionMs: 10_000,
  requestMs: 30_000,
};

/** Is an HTTP(S) proxy configured (either case)? */
function proxyConfigured(env: NodeJS.ProcessEnv): boolean {
  return Boolean(
    env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy,
  );
}

/** Keys nothing checks: with the signer below they are never sent, and no chain is looked up. */
const UNSIGNED = {
  credentials: { accessKeyId: 'anonymous', secretAccessKey: 'anonymous' },
  signer: { sign: async <T>(request: T) => request },
};

/** Unsigned, static keys, or (neither) the SDK's default chain. */
function signing(credentials: S3Keys | undefined, anonymous?: boolean) {
  if (anonymous) return UNSIGNED;
  return credentials ? { credentials } : {};
}

/**
 * An S3 client for a source, with DEFAULT_S3_TIMEOUTS (or `access.timeouts`). `credentials`: static
 * keys; `access.anonymous`: unsigned requests; neither: the SDK's default chain. With
 * HTTP_PROXY/HTTPS_PROXY set (NO_PROXY honoured), its connections go through Node's own proxy
 * support (an Agent's `proxyEnv`, Node >= 24.5), as the job's do.
 */
export function createS3Client(
  source: Pick<RestoreSource, 'endpoint' | 'region' | 'pathStyle'>,
  credentials?: S3Keys,
  env: NodeJS.ProcessEnv = process.env,
  access: Pick<S3Access, 'anonymous' | 'timeouts'> = {},
): S3Client {
  const timeouts = access.timeouts ?? DEFAULT_S3_TIMEOUTS;
  const agents = proxyConfigured(env)
    ? {
        httpAgent: new http.Agent({
          keepAlive: true,
          proxyEnv: env,
        } as http.AgentOptions),
        httpsAgent: new https.Agent({
          keepAlive: true,
          proxyEnv: env,
        } as https.AgentOptions),
      }
    : {};
  return new S3Client({
    requestHandler: {
      ...agents,
      connectionTimeout: timeouts.connectionMs,
      requestTimeout: timeouts.requestMs,
      // Without it a request past requestTimeout only logs a warning and goes on waiting.
      throwOnRequestTimeout: true,
    },
    region: source.region,
    ...(source.endpoint ? { endpoint: source.endpoint } : {}),
    forcePathStyle: source.pathStyle,
    // Checksums are verified by the job program with native crypto; the SDK's JS CRC64 is slow and
    // its default checksum behaviour (since SDK v3.729) breaks some S3-compatible servers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...signing(credentials, access.anonymous),
  });
}

/** A client for `access`: its own, or one made here (to destroy after use). */
export function clientFor(
  source: Pick<RestoreSource, 'endpoint' | 'region' | 'pathStyle'>,
  access: S3Access,
): S3Client {
  return (
    access.client ??
    createS3Client(source, access.credentials, process.env, access)
  );
}

/** The size of a source; defined in common so the browser can read it too. */
export type { SourceSize } from '@kube-restore/common';

export interface SizeOptions extends S3Access {
  /** Extra room on top of the data, in percent. Default 10. */
  overagePercent?: number;
  /** Unpacked-to-compressed ratio assumed for `.tar.gz` archives. Default 3. */
  compressionRatio?: number;
  /** Items per ListObjectsV2 page (at most 1000). */
  pageSize?: number;
  signal?: AbortSignal;
  /** Sees every object the restore would write, in key order (shardBounds.ts samples them). */
  sampler?: { add(key: string, size: number): void };
  /**
   * List at most this many pages: a listing that would need more throws ListingBudgetExceeded
   * (shardBounds.ts gives up an exact listing that would hold up a create). Unlimited by default.
   */
  maxPages?: number;
}

/** The listing needs more than SizeOptions.maxPages pages; nothing was sized. */
export class ListingBudgetExceeded extends Error {
  constructor(readonly maxPages: number) {
    super(`the listing needs more than ${maxPages} pages`);
    this.name = 'ListingBudgetExceeded';
  }
}

const BLOCK = 4096;
const PER_FILE_OVERHEAD = 256; // inode and directory entry, roughly, on ext4/xfs

function diskBytesOf(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK + PER_FILE_OVERHEAD;
}

/** A tar archive whose unpacked size can only be estimated from its compressed size. */
function isCompressedTar(source: RestoreSource): boolean {
  return (
    source.format === 'tar' &&
    source.key !== undefined &&
    /\.(t?gz|zst|zstd)$/i.test(source.key)
  );
}

/** One listed object, from ListObjectsV2 or ListObjectVersions. */
interface ListedObject {
  key: string;
  size: number;
  storageClass?: string;
  checksumAlgorithms?: string[];
  checksumType?: string;
  etag?: string;
}

/**
 * The objects under `prefix`, page by page: the current ones, or with `asOf` the versions common's
 * versionsAsOf picks (the newest at or before the instant; a delete marker there hides the key).
 */
async function* listPages(
  client: S3Client,
  source: RestoreSource,
  prefix: string,
  options: SizeOptions,
): AsyncGenerator<ListedObject[]> {
  const pageSize = options.pageSize ?? 1000;
  let pages = 0;
  /** Called before each page after the first: may the listing go on? */
  const another = () => {
    pages++;
    if (options.maxPages !== undefined && pages >= options.maxPages)
      throw new ListingBudgetExceeded(options.maxPages);
  };
  if (!source.asOf) {
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: source.bucket,
          Prefix: prefix || undefined,
          ContinuationToken: token,
          MaxKeys: pageSize,
        }),
        { abortSignal: options.signal },
      );
      yield (page.Contents ?? []).map(o => ({
        key: o.Key ?? '',
        size: o.Size ?? 0,
        storageClass: o.StorageClass,
        checksumAlgorithms: o.ChecksumAlgorithm,
        checksumType: o.ChecksumType,
        etag: o.ETag,
      }));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (token) another();
    } while (token);
    return;
  }
  const pick = versionsAsOf<ListedObject>(new Date(source.asOf));
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  do {
    const page = await client.send(
      new ListObjectVersionsCommand({
        Bucket: source.bucket,
        Prefix: prefix || undefined,
        KeyMarker: keyMarker,
        VersionIdMarker: versionMarker,
        MaxKeys: pageSize,
      }),
      { abortSignal: options.signal },
    );
    const entries: VersionEntry<ListedObject>[] = [];
    for (const v of page.Versions ?? []) {
      if (v.Key === undefined || !v.LastModified) continue;
      entries.push({
        key: v.Key,
        lastModified: v.LastModified,
        version: {
          key: v.Key,
          size: v.Size ?? 0,
          storageClass: v.StorageClass,
          checksumAlgorithms: v.ChecksumAlgorithm,
          checksumType: (v as { ChecksumType?: string }).ChecksumType,
          etag: v.ETag,
        },
      });
    }
    for (const m of page.DeleteMarkers ?? []) {
      if (m.Key === undefined || !m.LastModified) continue;
      entries.push({ key: m.Key, lastModified: m.LastModified });
    }
    yield pick(entries);
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    if (keyMarker) another();
  } while (keyMarker);
}

/**
 * Sizes what a restore would write: object count, bytes, archived objects and the thaw cost per tier,
 * and the recommended PVC size. With `asOf`, the versions the job will read (ListObjectVersions), not
 * today's objects.
 */
export async function sizeSource(
  source: RestoreSource,
  options: SizeOptions = {},
): Promise<SourceSize> {
  const client = clientFor(source, options);
  const overage = options.overagePercent ?? 10;
  let objects = 0;
  let bytes = 0;
  let diskBytes = 0;
  let largest = 0;
  let estimated = false;
  const verification: Record<string, number> = {};
  const countVerification = (how: string) => {
    verification[how] = (verification[how] ?? 0) + 1;
  };
  const archived: Partial<Record<ArchiveClass, ArchivedTotals>> = {};
  const countArchived = (storageClass: string | undefined, size: number) => {
    if (
      storageClass &&
      (ARCHIVED_STORAGE_CLASSES as readonly string[]).includes(storageClass)
    ) {
      const cls = storageClass as ArchiveClass;
      const totals = (archived[cls] ??= { objects: 0, bytes: 0 });
      totals.objects++;
      totals.bytes += size;
    }
  };

  try {
    if (source.key !== undefined && !source.asOf) {
      const head = await client.send(
        new HeadObjectCommand({
          Bucket: source.bucket,
          Key: source.key,
          ChecksumMode: 'ENABLED',
        }),
        {
          abortSignal: options.signal,
        },
      );
      const size = head.ContentLength ?? 0;
      const checksums = CHECKSUM_PREFERENCE.map(
        a =>
          [
            a,
            (head as unknown as Record<string, unknown>)[`Checksum${a}`],
          ] as const,
      ).filter(([, value]) => typeof value === 'string');
      countVerification(
        verificationOf({
          checksumAlgorithms: checksums.map(([a]) => a),
          // a composite value ends in -N (the parts)
          checksumType: checksums.some(([, v]) => /-\d+$/.test(String(v)))
            ? 'COMPOSITE'
            : head.ChecksumType,
          etag: head.ETag,
          sse: head.ServerSideEncryption,
        }),
      );
      objects = 1;
      bytes = size;
      largest = size;
      countArchived(head.StorageClass, size);
      if (head.ArchiveStatus) {
        const totals = (archived.INTELLIGENT_TIERING ??= {
          objects: 0,
          bytes: 0,
        });
        totals.objects++;
        totals.bytes += size;
      }
      if (isCompressedTar(source)) {
        estimated = true;
        diskBytes = Math.ceil(size * (options.compressionRatio ?? 3));
      } else {
        diskBytes = size;
      }
    } else {
      // A prefix, or one key as of an instant: the listing (of the versions asOf picks) is what the job reads.
      const prefix = source.key ?? source.prefix ?? '';
      const filter = createKeyFilter(source);
      const keep =
        source.key !== undefined
          ? (key: string) => key === source.key
          : (key: string) => filter(relativeKey(key, prefix));
      for await (const page of listPages(client, source, prefix, options)) {
        for (const object of page) {
          if (object.key.endsWith('/')) continue; // folder markers hold no data
          if (!keep(object.key)) continue;
          const size = object.size;
          options.sampler?.add(object.key, size);
          objects++;
          bytes += size;
          diskBytes += diskBytesOf(size);
          if (size > largest) largest = size;
          countArchived(object.storageClass, size);
          countVerification(
            verificationOf({
              checksumAlgorithms: object.checksumAlgorithms,
              checksumType: object.checksumType,
              etag: object.etag,
            }),
          );
        }
      }
      if (source.key !== undefined && isCompressedTar(source)) {
        estimated = true;
        diskBytes = Math.ceil(bytes * (options.compressionRatio ?? 3));
      }
    }
  } catch (error) {
    if (error instanceof ListingBudgetExceeded) throw error;
    throw translateS3Error(error, source, source.key, options.signal);
  } finally {
    if (!options.client) client.destroy();
  }
  const archivedObjects = Object.values(archived).reduce(
    (n, t) => n + (t?.objects ?? 0),
    0,
  );
  const archivedBytes = Object.values(archived).reduce(
    (n, t) => n + (t?.bytes ?? 0),
    0,
  );
  return {
    objects,
    bytes,
    archived,
    archivedObjects,
    archivedBytes,
    thawCost: estimateThawCost(archived),
    diskBytes,
    recommendedSize: bytesToGiQuantity(diskBytes * (1 + overage / 100)),
    estimated,
    largestObjectBytes: largest,
    verification,
  };
}

export interface BackupLayout {
  source: Pick<RestoreSource, 'endpoint' | 'region' | 'bucket'> & {
    pathStyle?: boolean;
  };
  /**
   * Where a PVC's backup lives, with `${namespace}` and `${pvc}`: a prefix ending in `/`
   * (any object under it counts) or one key (e.g. `${namespace}/${pvc}.tar.gz`).
   */
  template: string;
}

export type BackupDecision =
  | { decision: 'restore'; location: string }
  | { decision: 'fresh'; location: string }
  | { decision: 'unknown'; location?: string; reason: string };

export function backupLocation(
  layout: BackupLayout,
  namespace: string,
  pvc: string,
): string {
  return layout.template
    .replace(/\$\{namespace\}/g, namespace)
    .replace(/\$\{pvc\}/g, pvc);
}

/**
 * pvc-plumber's question: should a new PVC be restored from a backup (`restore`), start empty
 * (`fresh`), or can nobody tell (`unknown`, on any error, so an admission policy can fail closed)?
 */
export async function backupExists(
  namespace: string,
  pvc: string,
  layout: BackupLayout,
  access: S3Access & { signal?: AbortSignal } = {},
): Promise<BackupDecision> {
  let location: string;
  try {
    location = backupLocation(layout, namespace, pvc);
  } catch (error) {
    return { decision: 'unknown', reason: (error as Error).message };
  }
  const { source } = layout;
  const client =
    access.client ??
    createS3Client(
      {
        ...source,
        pathStyle: source.pathStyle ?? source.endpoint !== undefined,
      },
      access.credentials,
    );
  const url = `s3://${layout.source.bucket}/${location}`;
  try {
    if (location.endsWith('/') || location === '') {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: layout.source.bucket,
          Prefix: location || undefined,
          MaxKeys: 1,
        }),
        { abortSignal: access.signal },
      );
      return {
        decision:
          (page.KeyCount ?? page.Contents?.length ?? 0) > 0
            ? 'restore'
            : 'fresh',
        location: url,
      };
    }
    await client.send(
      new HeadObjectCommand({ Bucket: layout.source.bucket, Key: location }),
      {
        abortSignal: access.signal,
      },
    );
    return { decision: 'restore', location: url };
  } catch (error) {
    const name = (error as S3ServiceException)?.name;
    const status = (error as S3ServiceException)?.$metadata?.httpStatusCode;
    if (
      (name === 'NotFound' || name === 'NoSuchKey' || status === 404) &&
      name !== 'NoSuchBucket'
    ) {
      return { decision: 'fresh', location: url };
    }
    return {
      decision: 'unknown',
      location: url,
      reason: translateS3Error(error, layout.source, location).message,
    };
  } finally {
    if (!access.client) client.destroy();
  }
}
