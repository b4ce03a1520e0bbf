/**
 * S3ObjectsSource: every object under a prefix (ListObjectsV2, or ListObjectVersions for `asOf`),
 * or one key, each to its own file.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import {
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
} from '@aws-sdk/client-s3';
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
import { findArchived, thawObjects } from './thaw';
import { controlCall, forEachLimited } from './util';
import type { ObjectRef, RestoreContext, Source, SourceTotals } from './types';

export interface ListedObject extends ObjectRef {
  storageClass?: string;
}

interface PlannedObject extends ListedObject {
  path: string;
  /** Waiting for a thaw. */
  archived?: boolean;
}

/** A version or a delete marker of one key, as ListObjectVersions returns them. */
type Candidate = { key: string; at: Date; marker: boolean; obj?: ListedObject };

/** By key, then newest first within a key. */
function newestFirstPerKey(a: Candidate, b: Candidate): number {
  if (a.key < b.key) return -1;
  if (a.key > b.key) return 1;
  return b.at.getTime() - a.at.getTime();
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

  private control<T>(
    entry: string | undefined,
    fn: () => Promise<T>,
  ): Promise<T> {
    return controlCall(this.ctx, entry, fn);
  }

  /** Every object of the source, page by page. */
  async *list(): AsyncGenerator<ListedObject> {
    const { source } = this.ctx.request;
    const { client, bucket } = this.ctx.s3;
    if (source.key !== undefined) {
      const key = source.key;
      const head = await this.control(key, () =>
        client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), {
          abortSignal: this.ctx.signal,
        }),
      );
      yield {
        key,
        size: head.ContentLength ?? 0,
        etag: head.ETag,
        lastModified: head.LastModified,
        storageClass:
          head.StorageClass ??
          (head.ArchiveStatus ? 'INTELLIGENT_TIERING' : undefined),
        versionId: undefined,
      };
      return;
    }
    const prefix = source.prefix ?? '';
    if (source.asOf) {
      yield* this.listAsOf(prefix, new Date(source.asOf));
      return;
    }
    let token: string | undefined;
    do {
      const page = await this.listPage(prefix, token);
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield {
          key: o.Key,
          size: o.Size ?? 0,
          etag: o.ETag,
          lastModified: o.LastModified,
          storageClass: o.StorageClass,
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** One page of ListObjectsV2 after `token`. */
  private listPage(prefix: string, token: string | undefined) {
    const { client, bucket } = this.ctx.s3;
    return this.control(prefix || undefined, () =>
      client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix || undefined,
          ContinuationToken: token,
          MaxKeys: 1000,
        }),
        {
          abortSignal: this.ctx.signal,
        },
      ),
    );
  }

  /** One page of ListObjectVersions after the key and version markers. */
  private listVersionsPage(
    prefix: string,
    keyMarker: string | undefined,
    versionMarker: string | undefined,
  ) {
    const { client, bucket } = this.ctx.s3;
    return this.control(prefix || undefined, () =>
      client.send(
        new ListObjectVersionsCommand({
          Bucket: bucket,
          Prefix: prefix || undefined,
          KeyMarker: keyMarker,
          VersionIdMarker: versionMarker,
          MaxKeys: 1000,
        }),
        { abortSignal: this.ctx.signal },
      ),
    );
  }

  /** The newest version of each key at or before `asOf`; a delete marker there hides the key. */
  private async *listAsOf(
    prefix: string,
    asOf: Date,
  ): AsyncGenerator<ListedObject> {
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    let decidedKey: string | undefined;
    do {
      const page = await this.listVersionsPage(
        prefix,
        keyMarker,
        versionMarker,
      );
      const candidates: Candidate[] = [];
      for (const v of page.Versions ?? []) {
        if (v.Key === undefined || !v.LastModified) continue;
        candidates.push({
          key: v.Key,
          at: v.LastModified,
          marker: false,
          obj: {
            key: v.Key,
            versionId:
              v.VersionId && v.VersionId !== 'null' ? v.VersionId : undefined,
            size: v.Size ?? 0,
            etag: v.ETag,
            lastModified: v.LastModified,
            storageClass: v.StorageClass,
          },
        });
      }
      for (const m of page.DeleteMarkers ?? []) {
        if (m.Key === undefined || !m.LastModified) continue;
        candidates.push({ key: m.Key, at: m.LastModified, marker: true });
      }
      // Versions and markers arrive in two lists; per key, newest first.
      candidates.sort(newestFirstPerKey);
      for (const c of candidates) {
        if (c.key === decidedKey) continue;
        if (c.at.getTime() > asOf.getTime()) continue;
        decidedKey = c.key;
        if (!c.marker && c.obj) yield c.obj;
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (keyMarker);
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
    for await (const o of this.list()) {
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
