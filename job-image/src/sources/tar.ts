/**
 * TarArchiveSource: one archive object (.tar, .tar.gz/.tgz; zstd where the runtime can), extracted
 * while it streams. The archive's own checksum (MD5 ETag or S3 checksum) is checked on the
 * compressed bytes as they pass; a retry starts the archive over and replaces what it wrote (never
 * what the volume held before the first attempt: ctx.preexisting).
 */
import { checksumLabel, createHasher, expectedChecksums } from '../checksums';
import { classifyError, RestoreError } from '../errors';
import { withRetry } from '../retry';
import { contentLengthOf } from '../s3/objectHead';
import { decompressed, extractTar, ExtractResult } from './extract';
import { checkRecordedSymlinks } from './extractLinks';
import { findArchived, thawObjects, ThawItem } from './thaw';
import type { RestoreContext, Source, SourceTotals } from './types';
import { currentObject, type ListedObject, versionAsOf } from './listing';

/** Files larger than this trigger a free-space check before they are written. */
const FREE_SPACE_CHECK_BYTES = 1024 * 1024;

export class TarArchiveSource implements Source {
  private object?: ThawItem & { size: number; etag?: string };
  private skipAll = false;
  private result: ExtractResult = {
    entries: 0,
    files: 0,
    skipped: 0,
    bytes: 0,
    unsupported: [],
  };
  private readBytes = 0;
  private resumedEntries = 0;

  /**
   * `pinned`: the archive's version when the caller already picked it (run.ts, which sniffed that
   * version with `asOf`).
   */
  constructor(
    private readonly ctx: RestoreContext,
    private readonly pinned?: ListedObject,
  ) {}

  private get key(): string {
    return this.ctx.request.source.key!;
  }

  totals(): SourceTotals {
    return {
      objects: this.result.files,
      objectsSkipped: this.skipAll ? this.resumedEntries : this.result.skipped,
      bytes: this.result.bytes,
      unsupported: this.result.unsupported,
    };
  }

  async plan(): Promise<'Thawing' | 'Restoring'> {
    const { reporter, resume } = this.ctx;
    const key = this.key;
    if (resume.symlinks?.length) {
      // An earlier attempt may have been killed while it made its links, before their final check.
      const removed = await checkRecordedSymlinks(
        this.ctx.root,
        resume.symlinks,
      );
      if (removed.length > 0)
        reporter.log(
          'warn',
          'removed links an earlier attempt made that resolve outside the volume',
          { links: removed },
        );
    }
    this.object = await this.findArchive(key);
    const done = resume.archives.get(key);
    if (
      done &&
      done.etag === this.object.etag &&
      done.size === this.object.size
    ) {
      this.skipAll = true;
      this.resumedEntries = done.entries;
      reporter.log(
        'info',
        'the archive was already restored and verified by an earlier attempt',
        { key, entries: done.entries },
      );
    }
    const c = reporter.counters;
    c.bytesTotal = this.skipAll ? 0 : this.object.size;
    if (this.skipAll) {
      c.objectsDone = done!.entries;
      c.objectsSkipped = done!.entries;
      c.objectsTotal = done!.entries;
      return 'Restoring';
    }
    const archived = await findArchived(this.ctx, [this.object]);
    if (archived.length > 0) {
      if (this.ctx.request.source.archive.tier === 'fail') {
        throw new RestoreError(
          'ARCHIVED_OBJECT',
          `"${key}" is archived (${this.object.storageClass}); set source.archive.tier to thaw it`,
          {
            entry: key,
          },
        );
      }
      reporter.counters.thaw = { waiting: 1, ready: 0 };
      return 'Thawing';
    }
    reporter.log('info', 'planned', { archive: key, bytes: this.object.size });
    return 'Restoring';
  }

  /** The archive: its current object, or with `asOf` its version then (NO_SUCH_KEY if none). */
  private async findArchive(key: string): Promise<ListedObject> {
    const asOf = this.ctx.request.source.asOf;
    if (asOf === undefined) return currentObject(this.ctx, key);
    const version = this.pinned ?? (await versionAsOf(this.ctx, key, asOf));
    if (!version)
      throw new RestoreError(
        'NO_SUCH_KEY',
        `no version of ${JSON.stringify(key)} at or before ${asOf} (or a delete marker hid it then)`,
        { entry: key },
      );
    return version;
  }

  async thaw(): Promise<'Restoring'> {
    await thawObjects(this.ctx, [this.object!]);
    return 'Restoring';
  }

  async transfer(): Promise<'Verifying'> {
    if (this.skipAll) return 'Verifying';
    for (let attempt = 0; ; attempt++) {
      try {
        await withRetry(() => this.extractOnce(), this.ctx.retry, {
          signal: this.ctx.signal,
          entry: this.key,
          onRetry: (error, n, delayMs) =>
            this.ctx.reporter.log(
              'warn',
              'retrying the archive from its start',
              {
                key: this.key,
                code: error.code,
                error: error.message,
                attempt: n,
                delayMs,
              },
            ),
        });
        return 'Verifying';
      } catch (error) {
        const e = classifyError(error, this.key);
        // Bytes corrupted in transit show up as a checksum mismatch, or earlier as a gzip/tar error:
        // either is read once more before it counts.
        if (
          (e.code === 'CHECKSUM_MISMATCH' || e.code === 'INVALID_ARCHIVE') &&
          attempt === 0 &&
          !this.ctx.signal.aborted
        ) {
          this.ctx.reporter.log(
            'warn',
            'archive unreadable or checksum mismatch, reading it once more',
            { key: this.key, code: e.code, error: e.message },
          );
          continue;
        }
        throw e;
      }
    }
  }

  private async extractOnce(): Promise<void> {
    const { s3, reporter, limiter, signal, request, root, fileAttributes } =
      this.ctx;
    const obj = this.object!;
    const verify = request.options.verify;
    // A new attempt: progress restarts from the archive's beginning.
    reporter.addBytes(-this.readBytes);
    reporter.counters.objectsDone = 0;
    this.readBytes = 0;
    const res = await s3.getObject({
      key: obj.key,
      versionId: obj.versionId,
      checksumMode: verify,
      signal,
    });
    const size = contentLengthOf(res.headers, obj.key) ?? obj.size;
    const checks = verify ? expectedChecksums(res.headers) : [];
    const hashers = checks.map(createHasher);
    const addRead = (bytes: number) => {
      this.readBytes += bytes;
    };
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const chunk of res) {
        for (const h of hashers) h.update(chunk);
        addRead(chunk.length);
        reporter.addBytes(chunk.length);
        if (limiter) await limiter.take(chunk.length, signal);
        yield chunk;
      }
    }
    try {
      const { format, tar } = await decompressed(counted(), obj.key);
      reporter.log('info', 'extracting', { key: obj.key, format, bytes: size });
      this.result = await extractTar(tar, {
        root,
        archive: obj.key,
        stripPrefix: request.source.stripPrefix,
        include: request.source.include,
        exclude: request.source.exclude,
        conflict: this.ctx.conflict,
        preexisting: this.ctx.preexisting,
        fileMode: fileAttributes.mode,
        dirMode: this.ctx.dirMode,
        uid: fileAttributes.uid,
        gid: fileAttributes.gid,
        canChown: this.ctx.canChown,
        skipUnsupported: request.source.skipUnsupportedEntries ?? false,
        maxEntriesPerDirectory: request.source.maxEntriesPerDirectory,
        spillFile: () => this.ctx.scratch.file('archive-paths'),
        signal,
        freeSpaceCheckBytes: FREE_SPACE_CHECK_BYTES,
        onEntry: line => this.ctx.manifest.append(line),
        beforeSymlinks: async lines => {
          lines.forEach(line => this.ctx.manifest.append(line));
          await this.ctx.manifest.flush(true);
        },
        onFile: () => {
          reporter.counters.objectsDone++;
        },
        log: (level, msg, fields) => reporter.log(level, msg, fields),
      });
      // extractTar reads its input to the end, so every byte of the object went through the hashers.
      if (this.readBytes !== size) {
        throw new RestoreError(
          'CHECKSUM_MISMATCH',
          `"${obj.key}": read ${this.readBytes} bytes, expected ${size}`,
          { entry: obj.key },
        );
      }
      checks.forEach((check, i) => {
        const digest = hashers[i].digest();
        if (digest !== check.expected) {
          throw new RestoreError(
            'CHECKSUM_MISMATCH',
            `"${obj.key}": ${check.algorithm} is ${digest}, the object says ${check.expected}`,
            {
              entry: obj.key,
            },
          );
        }
      });
      this.ctx.manifest.append({
        type: 'archive',
        key: obj.key,
        size,
        etag: res.headers.etag ?? obj.etag,
        checksum: checksumLabel(checks),
        verified: true,
        entries: this.result.files,
        bytes: this.result.bytes,
      });
      reporter.counters.objectsTotal = reporter.counters.objectsDone;
    } finally {
      if (!res.complete) res.destroy();
    }
  }

  async verify(): Promise<'Succeeded'> {
    await this.ctx.manifest.flush(true);
    return 'Succeeded';
  }
}
