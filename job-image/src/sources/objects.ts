/**
 * S3ObjectsSource: every object under a prefix, or one key (listed by ./listing), each to its
 * own file.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { createKeyFilter } from '@kube-restore/common';
import { classifyError, RestoreError } from '../errors';
import { existingPathAction } from '../volume';
import {
  applyStripPrefix,
  baseOf,
  conflict as conflict_,
  normalizeEntryPath,
  PathRegistry,
} from '../paths';
import { inShard } from '../shard';
import { downloadObject } from './download';
import { listObjects, type ListedObject } from './listing';
import { findArchived, thawObjects } from './thaw';
import { forEachLimited } from './util';
import type { RestoreContext, Source, SourceTotals } from './types';

interface PlannedObject extends ListedObject {
  path: string;
  /** Waiting for a thaw. */
  archived?: boolean;
}

export class S3ObjectsSource implements Source {
  private items: PlannedObject[] = [];
  private readonly dirs: string[] = [];
  private objectsWritten = 0;
  private objectsSkipped = 0;
  private bytesWritten = 0;
  private readonly verifiedBy: Record<string, number> = {};

  constructor(private readonly ctx: RestoreContext) {}

  totals(): SourceTotals {
    return {
      objects: this.objectsWritten,
      objectsSkipped: this.objectsSkipped,
      bytes: this.bytesWritten,
      verifiedBy: this.verifiedBy,
    };
  }

  async plan(): Promise<'Thawing' | 'Restoring'> {
    const { request, reporter, shard } = this.ctx;
    const { source } = request;
    const prefix = source.prefix ?? '';
    const keep = createKeyFilter(source);
    const registry = new PathRegistry({
      foldCase: this.ctx.root.caseInsensitive,
    });
    let matched = 0;
    let ignored = 0;
    for await (const o of listObjects(this.ctx)) {
      const relative =
        source.key !== undefined ? baseOf(o.key) : o.key.slice(prefix.length);
      if (relative === '') continue;
      if (source.key === undefined) {
        if (!keep(relative)) continue;
      }
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
        registry.claimDir(normalized.path, o.key);
        if (normalized.path !== '' && inShard(o.key, shard))
          this.dirs.push(normalized.path);
        continue;
      }
      registry.claimFile(normalized.path, o.key);
      matched++;
      if (inShard(o.key, shard))
        this.items.push({ ...o, path: normalized.path });
    }
    if (ignored > 0)
      reporter.log(
        'info',
        'keys outside stripPrefix or reserved were not restored',
        { count: ignored },
      );
    if (matched === 0 && !request.options.allowEmpty) {
      throw new RestoreError(
        'NO_OBJECTS',
        `no object matched s3://${source.bucket}/${source.key ?? prefix}${source.include.length || source.exclude.length ? ' and the include/exclude globs' : ''}`,
      );
    }

    await this.dropDone();
    const archived = await findArchived(this.ctx, this.items);
    const c = reporter.counters;
    c.objectsTotal = this.items.length + this.objectsSkipped;
    c.objectsDone = this.objectsSkipped;
    c.objectsSkipped = this.objectsSkipped;
    c.bytesTotal = this.items.reduce((sum, o) => sum + o.size, 0);
    reporter.log('info', 'planned', {
      objects: this.items.length,
      skipped: this.objectsSkipped,
      bytes: c.bytesTotal,
      archived: archived.length,
    });
    if (archived.length === 0) return 'Restoring';
    if (source.archive.tier === 'fail') {
      throw new RestoreError(
        'ARCHIVED_OBJECT',
        `${archived.length} object(s) are archived (e.g. "${archived[0].key}", ${archived[0].storageClass}); set source.archive.tier to thaw them`,
        { entry: archived[0].key },
      );
    }
    c.thaw = { waiting: archived.length, ready: 0 };
    return 'Thawing';
  }

  /**
   * Skips what an earlier attempt verified; what the volume held before the first attempt follows
   * the conflict policy (skip-existing skips it, fail refuses it); anything else is replaced.
   */
  private async dropDone(): Promise<void> {
    const { resume, conflict, root, preexisting } = this.ctx;
    if (resume.objects.size === 0 && conflict === 'overwrite') return;
    const keep: PlannedObject[] = [];
    await forEachLimited(this.items, 32, this.ctx.signal, async item => {
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
        throw conflict_(
          item.key,
          `"${item.path}" already exists in the volume`,
        );
      if (resumed || action === 'skip') {
        this.objectsSkipped++;
      } else {
        keep.push(item);
      }
    });
    this.items = keep;
  }

  async thaw(): Promise<'Restoring'> {
    await thawObjects(
      this.ctx,
      this.items.filter(o => o.archived),
    );
    return 'Restoring';
  }

  async transfer(): Promise<'Verifying'> {
    const { root, reporter, manifest, tuning, dirMode } = this.ctx;
    for (const dir of this.dirs) {
      await root.ensureDir(dir, dir);
      if (dirMode !== undefined)
        await fsp.chmod(await root.ensureDir(dir, dir), dirMode);
    }
    // Large objects first: the tail of the transfer is then many small objects, not one big one.
    const order = [...this.items].sort((a, b) => b.size - a.size);
    await forEachLimited(
      order,
      tuning.concurrency,
      this.ctx.signal,
      async (item, signal) => {
        const ctx =
          signal === this.ctx.signal ? this.ctx : { ...this.ctx, signal };
        const finalPath = await root.filePath(item.path, item.key);
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
      },
    );
    return 'Verifying';
  }

  async verify(): Promise<'Succeeded'> {
    await this.ctx.manifest.flush(true);
    return 'Succeeded';
  }
}
