/**
 * S3ObjectsSource: every object under a prefix, or one key (listed by ./listing), each to its
 * own file, in a stream: transfers start with the first listing page, and what the source holds in
 * memory is a bounded window of objects whatever their number.
 *
 * - plan(): starts the listing and reads it until the first window is full (or the listing ended,
 *   or FIRST_WINDOW_MS passed), then checks that window against the volume and for archived
 *   objects, before a byte is written;
 * - transfer(): workers drain the window while the listing goes on (it waits while the window is
 *   full). Paths are claimed as they are listed (pathClaims.ts), the resume records are looked up
 *   on disk (resumeRecords.ts), archived objects are spooled to the scratch directory;
 * - thaw() after the listing, then transfer() again for the spooled objects.
 *
 * A conflict or an archived object (tier `fail`) found after the first window fails the restore
 * with some files already written, as an archive extraction does; a retry resumes it.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createKeyFilter } from '@kube-restore/common';
import { classifyError, RestoreError } from '../errors';
import { PathClaims } from '../pathClaims';
import {
  applyStripPrefix,
  baseOf,
  conflict as conflict_,
  normalizeEntryPath,
  parentOf,
} from '../paths';
import { Spool } from '../scratch';
import { inShard, rangeOf } from '../shard';
import { existingPathAction } from '../volume';
import { downloadObject } from './download';
import { listObjects, type ListedObject } from './listing';
import { mayBeArchived, needsThaw, thawObjects } from './thaw';
import { forEachLimited } from './util';
import { forEachStreamed, Pipeline } from './window';
import type { RestoreContext, Source, SourceTotals } from './types';

/** Objects listed but not yet taken by a worker: about one listing page. */
export const WINDOW_OBJECTS = 1000;
/** Directories remembered as absent before the oldest are forgotten (see directoryAbsent). */
const ABSENT_DIRS_MAX = 4096;
/** plan() waits at most this long for the first window (a sparse match must not delay the start). */
const FIRST_WINDOW_MS = 2000;

interface PlannedObject extends ListedObject {
  path: string;
  /** Set when plan() checked the object already. */
  decided?: Decision;
  /**
   * decide() did not look at the path because its directory was absent: unless the restore makes
   * that directory itself, write() looks before writing (it may have appeared since, even as a link).
   */
  lookAtWrite?: boolean;
}

type Decision = 'write' | 'skip' | 'archived';

/** An object read back from a spool (JSON): its date is a Date again. */
function revived(item: PlannedObject): PlannedObject {
  return item.lastModified === undefined
    ? item
    : { ...item, lastModified: new Date(item.lastModified) };
}

export class S3ObjectsSource implements Source {
  private objectsWritten = 0;
  private objectsSkipped = 0;
  private bytesWritten = 0;
  private readonly verifiedBy: Record<string, number> = {};
  private pipeline?: Pipeline<PlannedObject>;
  private archived?: Spool<PlannedObject>;
  private thawed = false;
  /** Folder markers listed before the first file (made only once a file matched). */
  private earlyDirs?: Spool<string>;
  private matched = 0;
  private readonly absentDirs = new Map<string, Promise<boolean>>();
  /** The answers of absentDirs that have come (decideAtOnce). */
  private readonly absentKnown = new Map<string, boolean>();

  constructor(private readonly ctx: RestoreContext) {}

  totals(): SourceTotals {
    return {
      objects: this.objectsWritten,
      objectsSkipped: this.objectsSkipped,
      bytes: this.bytesWritten,
      verifiedBy: this.verifiedBy,
    };
  }

  async plan(): Promise<'Restoring'> {
    const { reporter, scratch } = this.ctx;
    const c = reporter.counters;
    c.objectsTotal = 0;
    c.bytesTotal = 0;
    c.listing = true;
    this.archived = await Spool.create(scratch.file('archived'));
    const pipeline = new Pipeline<PlannedObject>(
      this.ctx.signal,
      WINDOW_OBJECTS,
    );
    this.pipeline = pipeline;
    pipeline.start((put, signal) => this.list(put, signal));
    // The first window is checked before anything is written: a small restore is checked whole.
    await Promise.race([
      pipeline.window.whenFull(),
      delay(FIRST_WINDOW_MS, undefined, { ref: false }),
    ]);
    pipeline.check();
    const { concurrency } = this.ctx.tuning;
    try {
      // Most objects of a first window need neither a look at their path nor a HEAD: their
      // directories are looked at once each, then those are decided without a turn of the event
      // loop each (a thousand of them took 8-16 ms one by one, before the first transfer).
      const window = pipeline.window.peek();
      const dirs = new Set(window.map(item => parentOf(item.path)));
      await forEachLimited(
        [...dirs].filter(dir => this.looksAt(dir)),
        concurrency,
        pipeline.signal,
        async dir => {
          await this.directoryAbsent(dir);
        },
      );
      await forEachLimited(
        window.filter(
          item => (item.decided = this.decideAtOnce(item)) === undefined,
        ),
        concurrency,
        pipeline.signal,
        async (item, signal) => {
          item.decided = await this.decide(item, signal);
        },
      );
    } catch (error) {
      await pipeline.abandon(error);
    }
    return 'Restoring';
  }

  /** Lists, filters, maps and claims every key, and puts this shard's objects in the window. */
  private async list(
    put: (item: PlannedObject) => Promise<boolean>,
    signal: AbortSignal,
  ): Promise<void> {
    const { request, reporter, shard, root, scratch } = this.ctx;
    const { source } = request;
    const prefix = source.prefix ?? '';
    const keep = createKeyFilter(source);
    const c = reporter.counters;
    const claims = new PathClaims({
      file: scratch.file('claims'),
      foldCase: root.caseInsensitive,
    });
    let ignored = 0;
    try {
      for await (const o of listObjects({ ...this.ctx, signal })) {
        const relative =
          source.key !== undefined ? baseOf(o.key) : o.key.slice(prefix.length);
        if (relative === '') continue;
        if (source.key === undefined && !keep(relative)) continue;
        const stripped =
          source.key !== undefined
            ? relative
            : applyStripPrefix(relative, source.stripPrefix);
        if (stripped === undefined) {
          ignored++;
          continue;
        }
        const normalized = normalizeEntryPath(stripped, o.key);
        if (normalized.kind === 'skip') {
          reporter.log('warn', 'key not restored', {
            key: o.key,
            reason: normalized.reason,
          });
          ignored++;
          continue;
        }
        if (normalized.kind === 'dir') {
          claims.claimDir(normalized.path, o.key);
          if (normalized.path !== '' && inShard(o.key, shard, request.shards))
            await this.folder(normalized.path);
          continue;
        }
        claims.claimFile(normalized.path, o.key);
        if (++this.matched === 1) await this.makeEarlyDirs();
        if (!inShard(o.key, shard, request.shards)) continue;
        c.objectsTotal! += 1;
        c.bytesTotal! += o.size;
        if (!(await put({ ...o, path: normalized.path }))) return;
      }
    } finally {
      claims.close();
    }
    c.listing = undefined;
    if (ignored > 0)
      reporter.log(
        'info',
        'keys outside stripPrefix or reserved were not restored',
        { count: ignored },
      );
    // A shard's key range may hold nothing to restore (more shards than objects, or none that match
    // there); it cannot see the rest of the source, so only an unsharded or hash-sharded restore
    // that matched nothing is NO_OBJECTS.
    const ownRange = rangeOf(shard, request.shards) !== undefined;
    if (this.matched === 0 && ownRange)
      reporter.log('info', "this shard's key range holds no object to restore");
    if (this.matched === 0 && !request.options.allowEmpty && !ownRange) {
      throw new RestoreError(
        'NO_OBJECTS',
        `no object matched s3://${source.bucket}/${source.key ?? prefix}${source.include.length || source.exclude.length ? ' and the include/exclude globs' : ''}`,
      );
    }
    if (this.matched === 0) await this.makeEarlyDirs();
    reporter.log('info', 'planned', {
      objects: c.objectsTotal,
      bytes: c.bytesTotal,
      skippedSoFar: this.objectsSkipped,
      archivedSoFar: this.archived!.size,
      pathCheck: claims.inOrder ? 'in order' : 'on disk',
    });
  }

  /** A folder marker of this shard: made now, or once a file matched (NO_OBJECTS writes nothing). */
  private async folder(rel: string): Promise<void> {
    if (this.matched > 0 || this.ctx.request.options.allowEmpty) {
      await this.makeDir(rel);
      return;
    }
    this.earlyDirs ??= await Spool.create(this.ctx.scratch.file('dirs'));
    await this.earlyDirs.append(rel);
  }

  private async makeEarlyDirs(): Promise<void> {
    const early = this.earlyDirs;
    if (!early) return;
    this.earlyDirs = undefined;
    for await (const rel of early.read()) await this.makeDir(rel);
    await early.remove();
  }

  private async makeDir(rel: string): Promise<void> {
    const { root, dirMode } = this.ctx;
    const abs = await root.ensureDir(rel, rel);
    if (dirMode !== undefined) await fsp.chmod(abs, dirMode);
  }

  /**
   * Whether decide() looks at what is at the path of an object in directory `parent`. In a
   * directory this attempt made, nothing is there but what it wrote, and the path claims let no two
   * objects have one path: neither a file of the volume's nor an earlier attempt's (the record of
   * what the volume held was taken before any attempt wrote). No need to look. Nor where the
   * restore overwrites and resumes nothing.
   */
  private looksAt(parent: string): boolean {
    const { resume, conflict, root } = this.ctx;
    return (
      (resume.objects.size > 0 || conflict !== 'overwrite') &&
      !root.madeHere(parent)
    );
  }

  /**
   * decide()'s answer where it is known without waiting: the object's storage class needs no HEAD,
   * and its path is not looked at, or its directory is already known to be absent. Undefined where
   * decide() must wait.
   */
  private decideAtOnce(item: PlannedObject): Decision | undefined {
    if (mayBeArchived(item.storageClass)) return undefined;
    const parent = parentOf(item.path);
    if (!this.looksAt(parent)) return 'write';
    if (this.absentKnown.get(parent) !== true) return undefined;
    item.lookAtWrite = true;
    return 'write';
  }

  /**
   * Skips what an earlier attempt verified; what the volume held before the first attempt follows
   * the conflict policy (skip-existing skips it, fail refuses it); anything else is replaced.
   * Then, for what is written, whether it waits for a thaw.
   */
  private async decide(
    item: PlannedObject,
    signal: AbortSignal,
  ): Promise<Decision> {
    // Under a directory that was absent when first looked at (the first window of a restore into
    // an empty volume: one look per directory instead of one per object), the path is not looked
    // at now: write() looks before writing unless the restore made that directory itself (it may
    // have appeared since, even as a link into the user's files).
    const parent = parentOf(item.path);
    const look = this.looksAt(parent);
    if (look && (await this.directoryAbsent(parent))) item.lookAtWrite = true;
    else if (look && (await this.existing(item)) === 'skip') return 'skip';
    if (!(await needsThaw(this.ctx, item, signal))) return 'write';
    if (this.ctx.request.source.archive.tier === 'fail')
      throw new RestoreError(
        'ARCHIVED_OBJECT',
        `"${item.key}" is archived (${item.storageClass}); set source.archive.tier to thaw it`,
        { entry: item.key },
      );
    return 'archived';
  }

  /**
   * What is at the object's path now: 'skip' if an earlier attempt verified it or the conflict
   * policy keeps it (throws if the policy refuses it), else undefined (write it).
   */
  private async existing(item: PlannedObject): Promise<'skip' | undefined> {
    const { resume, conflict, root, preexisting } = this.ctx;
    const abs = path.join(root.real, item.path);
    const st = await fsp.lstat(abs).catch(() => undefined);
    const record = resume.objects.get(item.key);
    const resumed =
      record !== undefined &&
      record.path === item.path &&
      record.size === item.size &&
      record.etag === item.etag &&
      record.version === item.versionId &&
      st?.isFile() &&
      st.size === item.size;
    const action =
      st && !st.isDirectory()
        ? existingPathAction(st, preexisting, conflict)
        : 'write';
    if (action === 'fail')
      throw conflict_(item.key, `"${item.path}" already exists in the volume`);
    if (resumed || action === 'skip') return 'skip';
    return undefined;
  }

  /**
   * Whether directory `rel` was absent when first looked at in this attempt. If the restore then
   * makes it (root.madeHere), what is in it is the restore's own (the record of what the volume
   * held, and an earlier attempt's files, all came before the look). Bounded: forgetting only costs
   * looks.
   */
  private directoryAbsent(rel: string): Promise<boolean> {
    if (rel === '') return Promise.resolve(false);
    let absent = this.absentDirs.get(rel);
    if (absent === undefined) {
      if (this.absentDirs.size >= ABSENT_DIRS_MAX) {
        this.absentDirs.clear();
        this.absentKnown.clear();
      }
      absent = this.lookAtDirectory(rel).then(answer => {
        // unless forgotten meanwhile
        if (this.absentDirs.get(rel) === absent)
          this.absentKnown.set(rel, answer);
        return answer;
      });
      this.absentDirs.set(rel, absent);
    }
    return absent;
  }

  /**
   * Whether `rel` is absent now. Below a directory that was absent when looked at, it was absent
   * then too: no look of its own (the first window of a restore into an empty volume under nested
   * prefixes has a few top directories and hundreds below them).
   */
  private async lookAtDirectory(rel: string): Promise<boolean> {
    const parent = parentOf(rel);
    if (parent !== '' && (await this.directoryAbsent(parent))) return true;
    return fsp.lstat(path.join(this.ctx.root.real, rel)).then(
      () => false,
      (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
    );
  }

  async thaw(): Promise<'Restoring'> {
    await thawObjects(this.ctx, this.archived!.read());
    this.thawed = true;
    return 'Restoring';
  }

  async transfer(): Promise<'Thawing' | 'Verifying'> {
    const { reporter, tuning } = this.ctx;
    if (this.thawed) {
      await forEachStreamed(
        this.ctx.signal,
        this.archived!.read(),
        tuning.concurrency,
        (item, signal) => this.write(revived(item), signal),
      );
      await this.archived!.remove();
      return 'Verifying';
    }
    // as many workers as the download gate may let in (inFlight.ts); it holds large objects to
    // tuning.concurrency
    await this.pipeline!.run(this.ctx.inFlight.bound, async (item, signal) => {
      const decision = item.decided ?? (await this.decide(item, signal));
      if (decision === 'skip') {
        this.objectsSkipped++;
        reporter.counters.objectsSkipped++;
        reporter.counters.objectsDone++;
      } else if (decision === 'archived') {
        await this.archived!.append({ ...item, decided: undefined });
      } else {
        await this.write(item, signal);
      }
    });
    this.pipeline = undefined;
    await this.archived!.finish();
    if (this.archived!.size === 0) return 'Verifying';
    reporter.counters.thaw = { waiting: this.archived!.size, ready: 0 };
    return 'Thawing';
  }

  /** Downloads one object to its path and records it in the manifest. */
  private async write(item: PlannedObject, signal: AbortSignal): Promise<void> {
    const { root, reporter, manifest } = this.ctx;
    const ctx = signal === this.ctx.signal ? this.ctx : { ...this.ctx, signal };
    const finalPath = await root.filePath(item.path, item.key);
    // Its directory was absent when decide() looked: trusted only if the restore made it itself.
    if (
      item.lookAtWrite &&
      !root.madeHere(parentOf(item.path)) &&
      (await this.existing(item)) === 'skip'
    ) {
      this.objectsSkipped++;
      reporter.counters.objectsSkipped++;
      reporter.counters.objectsDone++;
      return;
    }
    try {
      const done = await downloadObject(
        ctx,
        item,
        finalPath,
        this.ctx.fileAttributes,
      );
      manifest.append({
        type: 'object',
        key: item.key,
        version: item.versionId,
        path: item.path,
        size: done.bytes,
        etag: done.etag,
        checksum: done.checksum,
        verified: true,
      });
      this.objectsWritten++;
      this.bytesWritten += done.bytes;
      this.verifiedBy[done.verifiedBy] =
        (this.verifiedBy[done.verifiedBy] ?? 0) + 1;
      reporter.counters.objectsDone++;
    } catch (error) {
      throw classifyError(error, item.key);
    }
  }

  async verify(): Promise<'Succeeded'> {
    await this.ctx.manifest.flush(true);
    return 'Succeeded';
  }
}
