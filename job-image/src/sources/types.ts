/**
 * A source is a small interface whose steps return the next phase (after CDI's DataSource):
 * `plan()` lists and checks before a byte is written (an archive's object; the objects source's
 * first window, whose listing then goes on while `transfer()` writes), `thaw()` waits for archived
 * objects, `verify()` settles the manifest. Adding a source touches one file and one switch
 * (main's `createSource`).
 */
import type {
  ConflictPolicy,
  JobPhase,
  RestoreRequest,
} from '@kube-restore/common';
import type { BandwidthLimiter } from '../bandwidth';
import type { HashWorkerPool } from '../fileHasher';
import type { InFlight } from '../inFlight';
import type { LoadedManifest, ManifestWriter } from '../manifest';
import type { SafeRoot } from '../paths';
import type { Reporter } from '../reporter';
import type { Scratch } from '../scratch';
import type { RetryPolicy } from '../retry';
import type { S3Access } from '../s3/access';
import type { Shard } from '../shard';
import type { SmallWritePolicy } from '../smallWrites';
import type { Preexisting } from '../volume';
import type { FileAttributes } from '../temporaries';

export interface RestoreContext {
  request: RestoreRequest;
  s3: S3Access;
  root: SafeRoot;
  reporter: Reporter;
  manifest: ManifestWriter;
  /** What an earlier attempt of this restore recorded as written and verified. */
  resume: LoadedManifest;
  /** On-disk working state of this attempt (path claims, spools), removed when it ends. */
  scratch: Scratch;
  /** The volume was claimed by this restore already (an earlier attempt or another shard). */
  resuming: boolean;
  /** What the volume held before the restore's first attempt: the conflict policy applies to it. */
  preexisting: Preexisting;
  conflict: ConflictPolicy;
  shard?: Shard;
  signal: AbortSignal;
  limiter?: BandwidthLimiter;
  retry: RetryPolicy;
  tuning: Tuning;
  /** Owner and modes from the request, for files. */
  fileAttributes: FileAttributes;
  /** Directory mode from the request, if any. */
  dirMode?: number;
  /** May the process chown (root, or CAP_CHOWN)? */
  canChown: boolean;
  /** The gate of object downloads: large ones by `options.concurrency`, small ones by the round trip. */
  inFlight: InFlight;
  /** How small objects are written: in one go, their temporaries made ahead, or through the pool (smallWrites.ts). */
  smallWrites: SmallWritePolicy;
  /** The restore's hash workers (created and closed by run.ts). */
  hashWorkers: HashWorkerPool;
  /** In every temporary file's name: the shard's, so a resumed shard removes only its own. */
  tempTag: string;
}

export interface Tuning {
  concurrency: number;
  /**
   * Small objects may be more than `concurrency` at once, as the round trip calls for (inFlight.ts):
   * only when the request left options.concurrency at its default.
   */
  smallScales: boolean;
  /** Objects at least this large are fetched as parallel ranged GETs. */
  rangeThreshold: number;
  partSize: number;
  /** Parallel ranged GETs per large object. */
  partConcurrency: number;
  /** First and largest poll interval while thawing, in ms. */
  thawPollMs: number;
  thawPollMaxMs: number;
}

export interface SourceTotals {
  objects: number;
  objectsSkipped: number;
  bytes: number;
  /** Objects written, by how they were verified (`CRC64NVME`, `MD5`, `size only`...). */
  verifiedBy?: Record<string, number>;
  /** Archive entries of unsupported types, skipped because the request said so. */
  unsupported?: Array<{ entry: string; type: string }>;
}

export interface Source {
  /** Lists, filters, maps and checks paths (all, or a first window); fails before writing anything. */
  plan(): Promise<Extract<JobPhase, 'Thawing' | 'Restoring'>>;
  thaw(): Promise<'Restoring'>;
  /** 'Thawing' when objects found archived on the way wait for a thaw (then transfer again). */
  transfer(): Promise<'Thawing' | 'Verifying'>;
  verify(): Promise<'Succeeded'>;
  /** Totals for the termination message: objects written, skipped, bytes written. */
  totals(): SourceTotals;
}

/** One object of the source as the listing gave it. */
export interface ObjectRef {
  key: string;
  versionId?: string;
  size: number;
  etag?: string;
  lastModified?: Date;
}
