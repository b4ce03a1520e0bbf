/**
 * One restore, start to end: check the volume, pick the source, walk the phases, and say how it
 * ended. No process-wide effects (signals, exit codes, the termination file): main.ts owns those.
 */
import { setMaxListeners } from 'node:events';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import {
  ErrorCode,
  JobPhase,
  MANIFEST_DIR,
  parseQuantity,
  RestoreRequest,
  restoreNameOf,
} from '@kube-restore/common';
import { BandwidthLimiter } from './bandwidth';
import { checksumEngine } from './crc64/crc64';
import { releaseHeldDirectories } from './dirOps';
import { classifyError, isFatal, RestoreError } from './errors';
import { HashWorkerPool, HashWorkerPoolOptions } from './fileHasher';
import { InFlight, smallObjectBound } from './inFlight';
import { loadSmallFileWriter } from './smallFileWriter';
import { SmallWritePolicy } from './smallWrites';
import {
  LoadedManifest,
  loadManifest,
  ManifestWriter,
  manifestPathFor,
} from './manifest';
import { SafeRoot, TEMP_PREFIX } from './paths';
import { Scratch } from './scratch';
import { Reporter } from './reporter';
import { S3Access } from './s3/access';
import { Throttle } from './throttle';
import { Shard, shardFromEnv } from './shard';
import { decompressed } from './sources/extract';
import { firstHeadObject, firstListPage, versionAsOf } from './sources/listing';
import { S3ObjectsSource } from './sources/objects';
import { TarArchiveSource } from './sources/tar';
import type { RestoreContext, Source, SourceTotals } from './sources/types';
import { retryFrom, tuningFrom } from './tuning';
import {
  claimVolume,
  readPreexisting,
  DEFAULT_CLAIM_STALE_MS,
  HEARTBEAT_MS,
  inUse,
  markFinished,
  startHeartbeat,
} from './volume';
import { isCaseInsensitive, StateDir } from './stateDir';

/** The start line's `checksums` (and `checksumsNote`: why not native, when it is not). */
function checksumsField(verify: boolean): Record<string, string> {
  if (!verify) return { checksums: 'off' };
  const { engine, problem } = checksumEngine();
  return problem
    ? { checksums: engine, checksumsNote: problem }
    : { checksums: engine };
}

export interface RunOptions {
  request: RestoreRequest;
  /** The volume's mount point. */
  target: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  reporter?: Reporter;
  /** Tests that run in-process: where the hash worker's bundle is, and how many workers at most. */
  hashWorkers?: HashWorkerPoolOptions;
}

export interface RunOutcome {
  phase: 'Succeeded' | 'Failed';
  code?: ErrorCode;
  message: string;
  failedPhase?: JobPhase;
  entry?: string;
  objects: number;
  objectsSkipped: number;
  bytes: number;
  /** Objects written, by how they were verified. */
  verifiedBy?: Record<string, number>;
  durationMs: number;
  manifest?: string;
  shard?: Shard;
}

/** `; verified by CRC64NVME: 3, MD5: 1, size only: 2` (most first), or nothing. */
export function verifiedSummary(
  verifiedBy: Record<string, number> | undefined,
): string {
  const entries = Object.entries(verifiedBy ?? {}).sort(
    (a, b) => b[1] - a[1] || a[0].localeCompare(b[0]),
  );
  if (entries.length === 0) return '';
  return `; verified by ${entries.map(([how, n]) => `${how}: ${n}`).join(', ')}`;
}

/** Removes temporary files a killed attempt left (only ours: the tag names the shard). */
async function removeStaleTemporaries(
  dir: string,
  pattern: RegExp,
): Promise<number> {
  let removed = 0;
  const entries = await fsp
    .readdir(dir, { withFileTypes: true })
    .catch(() => []);
  for (const entry of entries) {
    const abs = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === MANIFEST_DIR || entry.name === 'lost+found') continue;
      removed += await removeStaleTemporaries(abs, pattern);
    } else if (pattern.test(entry.name)) {
      await fsp.rm(abs, { force: true });
      removed++;
    }
  }
  return removed;
}

/**
 * Which source reads this request; `auto` with one key sniffs the object's first bytes (with
 * `asOf`, those of its version then, which the archive source is then given).
 */
async function createSource(ctx: RestoreContext): Promise<Source> {
  const { source } = ctx.request;
  if (source.format === 'tar') return new TarArchiveSource(ctx);
  if (source.format === 'objects' || source.key === undefined)
    return new S3ObjectsSource(ctx);
  const key = source.key;
  const version = source.asOf
    ? await versionAsOf(ctx, key, source.asOf)
    : undefined;
  // No version then: the objects source says that nothing matched.
  if (source.asOf && !version) return new S3ObjectsSource(ctx);
  const res = await ctx.s3
    .getObject({
      key,
      versionId: version?.versionId,
      range: [0, 511],
      signal: ctx.signal,
    })
    .catch(error => {
      const e = classifyError(error, key);
      // An empty object cannot be asked for a range; anything else is the object's own problem.
      if (
        (error as { $metadata?: { httpStatusCode?: number } }).$metadata
          ?.httpStatusCode === 416
      )
        return undefined;
      throw e;
    });
  if (!res) return new S3ObjectsSource(ctx);
  try {
    await decompressed(res, key);
    ctx.reporter.log(
      'info',
      'the object is an archive (by its first bytes): extracting it',
      { key },
    );
    return new TarArchiveSource(ctx, version);
  } catch {
    return new S3ObjectsSource(ctx);
  } finally {
    res.destroy();
  }
}

/** The summary's note on archive entries skipped for their type (the request allowed it). */
export function unsupportedNote(
  unsupported: SourceTotals['unsupported'],
): string {
  if (!unsupported?.length) return '';
  const shown = unsupported
    .slice(0, 3)
    .map(u => `"${u.entry}" (${u.type})`)
    .join(', ');
  const more = unsupported.length > 3 ? ', ...' : '';
  const noun = unsupported.length === 1 ? 'entry' : 'entries';
  return `; ${unsupported.length} archive ${noun} of unsupported types not restored: ${shown}${more}`;
}

export async function runRestore(options: RunOptions): Promise<RunOutcome> {
  const started = Date.now();
  const env = options.env ?? process.env;
  const { request } = options;
  // Aborted when another restore took the volume over: this one must stop writing.
  const lost = new AbortController();
  const signal = AbortSignal.any([
    options.signal ?? new AbortController().signal,
    lost.signal,
  ]);
  setMaxListeners(0, signal);
  let state: StateDir | undefined;
  let scratch: Scratch | undefined;
  let claimed = false;
  let claimLost: RestoreError | undefined;
  let stopHeartbeat = () => {};
  let shard: Shard | undefined;
  try {
    shard = shardFromEnv(env, request.options.parallelism);
  } catch (error) {
    return {
      phase: 'Failed',
      code: 'INVALID_REQUEST',
      message: (error as Error).message,
      failedPhase: 'Planning',
      objects: 0,
      objectsSkipped: 0,
      bytes: 0,
      durationMs: Date.now() - started,
    };
  }
  const reporter = options.reporter ?? new Reporter({ shard });
  const hashWorkers = new HashWorkerPool(options.hashWorkers);
  const manifestRel = manifestPathFor(shard);
  let source: Source | undefined;
  let s3: S3Access | undefined;
  let manifest: ManifestWriter | undefined;
  reporter.setPhase('Planning');
  reporter.start();
  const outcome = (
    phase: 'Succeeded' | 'Failed',
    error?: RestoreError,
  ): RunOutcome => {
    const { unsupported, ...totals } = source?.totals() ?? {
      objects: 0,
      objectsSkipped: 0,
      bytes: 0,
    };
    return {
      phase,
      code: error?.code,
      message: error
        ? error.message
        : `restored ${totals.objects} object(s), ${totals.bytes} bytes; ${totals.objectsSkipped} skipped${verifiedSummary(totals.verifiedBy)}${unsupportedNote(unsupported)}`,
      failedPhase: error ? reporter.phase : undefined,
      entry: error?.entry,
      ...totals,
      durationMs: Date.now() - started,
      manifest: manifest ? manifestRel : undefined,
      shard,
    };
  };
  try {
    const tuning = tuningFrom(request);
    const { policy: retry, throttleBudgetMs } = retryFrom(request);
    const throttle = new Throttle({
      backoff: retry,
      // the gate's large streams and small objects (inFlight.ts), raised with the small limit
      // when a far region lets more small objects in at once
      max: 2 * tuning.concurrency,
      budgetMs: throttleBudgetMs,
      onChange: e =>
        reporter.log(
          e.kind === 'slowed' ? 'warn' : 'info',
          e.kind === 'slowed'
            ? 'S3 is throttling: fewer requests at once'
            : 'S3 requests at once raised again',
          { limit: e.limit, max: e.max, holdMs: e.holdMs },
        ),
    });
    s3 = new S3Access({
      source: request.source,
      maxSockets:
        Math.max(
          tuning.concurrency * 4,
          smallObjectBound(tuning.concurrency, tuning.smallScales),
        ) + 4,
      env,
      throttle,
      signal,
      anonymous: request.credentials.type === 'anonymous',
    });
    // The listing's first page, or the one key's HEAD, is on its way while the volume is claimed
    // and set up.
    const firstPage = firstListPage(request, shard);
    if (firstPage) {
      s3.prefetchListObjectsV2({ ...firstPage, signal });
      // The downloads after a listing start many requests at once: their connections open
      // while the first page is on its way.
      s3.preconnect(tuning.concurrency);
    }
    const firstHead = firstHeadObject(request);
    if (firstHead) s3.prefetchHeadObject({ ...firstHead, signal });
    const owner = request.options.owner;
    const dirMode =
      owner.dirMode !== undefined ? parseInt(owner.dirMode, 8) : undefined;
    const root = await SafeRoot.open(options.target, { dirMode });
    const restoreId = restoreNameOf(request);
    const tempTag = shard ? `s${shard.index}-` : '';

    // Whose volume is this? An earlier attempt of this restore (or another shard) may have begun
    // it; another restore may hold it (refused while it is live).
    state = await StateDir.open(root.real);
    const staleMs = DEFAULT_CLAIM_STALE_MS;
    const claim = await claimVolume({
      state,
      root: root.real,
      restore: restoreId,
      shard,
      conflict: request.target.conflict,
      staleMs,
    });
    claimed = true;
    const resuming = claim.resuming;
    root.caseInsensitive = await isCaseInsensitive(state);
    if (root.caseInsensitive)
      reporter.log(
        'info',
        'the volume is case-insensitive: paths that differ only in case are refused as one path',
        {},
      );
    stopHeartbeat = startHeartbeat(state, restoreId, HEARTBEAT_MS, holder => {
      claimLost = holder ? inUse(holder, staleMs) : undefined;
      claimLost ??= new RestoreError(
        'TARGET_IN_USE',
        'the claim on the volume disappeared while the restore ran',
      );
      lost.abort();
    });
    const manifestAbs = state.path(path.basename(manifestRel));
    scratch = await Scratch.open(
      state.path(shard ? `scratch-${shard.index}` : 'scratch'),
    );
    const inScratch = scratch;
    const preexisting = await readPreexisting(state, restoreId, {
      spillFile: () => inScratch.file('preexisting'),
    });
    scratch.onRemove(() => preexisting.close());
    let resume: LoadedManifest = {
      objects: new Map(),
      archives: new Map(),
      lines: 0,
    };
    if (resuming) {
      resume = await loadManifest(manifestAbs, scratch.file('resume'));
      scratch.onRemove(resume.close);
      const stale = await removeStaleTemporaries(
        root.real,
        new RegExp(
          `^${TEMP_PREFIX.replace(/[.]/g, '\\.')}${tempTag}[0-9a-f]{12}$`,
        ),
      );
      reporter.log('info', 'resuming an earlier attempt', {
        recorded: resume.objects.size + resume.archives.size,
        staleTemporaries: stale,
      });
    } else {
      await fsp.rm(manifestAbs, { force: true });
      if (claim.previous)
        reporter.log('info', 'took the volume over from a finished restore', {
          previous: claim.previous,
        });
    }
    manifest = await ManifestWriter.open(manifestAbs);
    manifest.append({
      type: 'header',
      v: 1,
      restore: restoreId,
      shard,
      startedAt: new Date(started).toISOString(),
    });

    const canChown = process.getuid?.() === 0;
    const wantsOwner = owner.uid !== undefined || owner.gid !== undefined;
    if (wantsOwner && !canChown) {
      reporter.log(
        'warn',
        'options.owner uid/gid ignored: the process may not chown (files belong to the pod user)',
        {},
      );
    }
    const smallFiles = loadSmallFileWriter();
    const ctx: RestoreContext = {
      request,
      s3,
      root,
      reporter,
      manifest,
      resume,
      scratch,
      resuming,
      preexisting,
      conflict: request.target.conflict,
      shard,
      signal,
      limiter: request.options.bandwidth
        ? new BandwidthLimiter(parseQuantity(request.options.bandwidth))
        : undefined,
      retry: {
        ...retry,
        throttle,
        refreshCredentials: () => s3!.refreshCredentials(),
      },
      tuning,
      fileAttributes: {
        mode:
          owner.fileMode !== undefined
            ? parseInt(owner.fileMode, 8)
            : undefined,
        uid: canChown ? owner.uid : undefined,
        gid: canChown ? owner.gid : undefined,
      },
      dirMode,
      canChown,
      hashWorkers,
      inFlight: new InFlight(
        tuning.concurrency,
        s3.firstByte,
        limit => throttle.raiseMax(limit + tuning.concurrency),
        tuning.smallScales,
      ),
      smallWrites: new SmallWritePolicy(smallFiles.writeFileIn),
      tempTag,
    };
    reporter.log('info', 'restore starting', {
      restore: restoreId,
      bucket: request.source.bucket,
      ...(request.source.key !== undefined
        ? { key: request.source.key }
        : { prefix: request.source.prefix }),
      format: request.source.format,
      conflict: request.target.conflict,
      concurrency: tuning.concurrency,
      ...checksumsField(request.options.verify),
      smallFiles: smallFiles.writeFileIn ? 'native' : 'node',
      ...(smallFiles.problem ? { smallFilesNote: smallFiles.problem } : {}),
      resuming,
    });
    source = await createSource(ctx);
    let phase: JobPhase = 'Planning';
    while (phase !== 'Succeeded') {
      if (signal.aborted)
        throw new RestoreError(
          'CANCELLED',
          'the restore was stopped (SIGTERM)',
        );
      reporter.setPhase(phase);
      switch (phase) {
        case 'Planning':
          phase = await source.plan();
          break;
        case 'Thawing':
          phase = await source.thaw();
          break;
        case 'Restoring':
          phase = await source.transfer();
          break;
        case 'Verifying':
          phase = await source.verify();
          break;
        default:
          throw new RestoreError('INTERNAL', `unexpected phase ${phase}`);
      }
    }
    await manifest.close();
    await markFinished(state, restoreId, shard);
    reporter.setPhase('Succeeded');
    return outcome('Succeeded');
  } catch (thrown) {
    let error = claimLost ?? classifyError(thrown);
    // After SIGTERM, aborted requests surface as network or internal errors: they are the stop itself.
    if (
      !claimLost &&
      signal.aborted &&
      [
        'CANCELLED',
        'NETWORK',
        'INTERNAL',
        'SERVER_ERROR',
        'THROTTLED',
      ].includes(error.code)
    ) {
      error = new RestoreError(
        'CANCELLED',
        'the restore was stopped (SIGTERM); a retry resumes it',
        { cause: thrown },
      );
    }
    await manifest?.close().catch(() => undefined);
    // A fatal failure ends the restore for good (no retry comes): the volume is free again.
    if (state && claimed && !claimLost && isFatal(error.code))
      await markFinished(state, restoreNameOf(request), shard).catch(
        () => undefined,
      );
    const result = outcome('Failed', error);
    reporter.log('error', error.message, {
      code: error.code,
      entry: error.entry,
      phase: result.failedPhase,
    });
    reporter.setPhase('Failed');
    return result;
  } finally {
    stopHeartbeat();
    await scratch?.remove().catch(() => undefined);
    await state?.close();
    if (!claimed) await state?.removeIfUnused();
    reporter.stop();
    s3?.destroy();
    await hashWorkers.close();
    releaseHeldDirectories();
  }
}
