/**
 * A large object as parallel ranged GETs written at their offsets into a preallocated temporary
 * file, as many at once as options.parts.concurrency and the gate's spare large slots allow
 * (partWorkers.ts). Every part is pinned to one version (If-Match the ETag, or the version id), so
 * when the listing gave one the parts start together with the object's HEAD instead of one round
 * trip after it (two on a new connection). The HEAD says how to verify the whole: MD5 and SHA-* are
 * hashed by a worker as the file's contiguous prefix grows (it starts when the HEAD answers and
 * reads what was written by then), full-object CRCs part by part as the bytes arrive, joined at the
 * end (partCrcs.ts), composite checksums by reading the file back at the end (the parts arrive out
 * of order). When the HEAD finds the object changed since the listing, or a part is refused because
 * it did (412), the parts stop, what they wrote is discarded, and the object is fetched again
 * after a HEAD of its own.
 */
import { setMaxListeners } from 'node:events';
import { promises as fsp } from 'node:fs';
import {
  bareEtag,
  checksumLabel,
  createHasher,
  ExpectedChecksum,
  verificationKind,
} from '../checksums';
import { RestoreError } from '../errors';
import type { FileHasher } from '../fileHasher';
import { recycleBodyChunks } from '../s3/keepAliveHttp';
import { contentLengthOf, lastModifiedOf } from '../s3/objectHead';
import { withRetry } from '../retry';
import type { FileAttributes } from '../temporaries';
import {
  FSYNC_MIN_BYTES,
  TempFile,
  WRITE_BATCH_BYTES,
} from '../writeFileAtomically';
import {
  checkDigests,
  checksFor,
  Downloaded,
  fileHasherFor,
  mismatch,
  splitChecks,
} from './objectChecks';
import { PartCrcs, PartHash } from './partCrcs';
import { PartOverlap } from './partOverlap';
import { runParts } from './partWorkers';
import type { ObjectRef, RestoreContext } from './types';

/** What the HEAD of an object fetched in parts says. */
interface PartsHead {
  size: number;
  etag: string | undefined;
  checks: ExpectedChecksum[];
  lastModified: Date | undefined;
}

async function headForParts(
  ctx: RestoreContext,
  obj: ObjectRef,
): Promise<PartsHead> {
  const head = await ctx.s3.request('HEAD', {
    key: obj.key,
    versionId: obj.versionId,
    checksumMode: ctx.request.options.verify,
    signal: ctx.signal,
  });
  head.resume();
  const size = contentLengthOf(head.headers, obj.key) ?? obj.size;
  const etag = head.headers.etag ?? obj.etag;
  return {
    size,
    etag,
    checks: await checksFor(ctx, { ...obj, etag }, size, head),
    lastModified: lastModifiedOf(head.headers),
  };
}

/** The object is not the version its parts were pinned to. */
class ChangedSinceListing extends Error {
  constructor() {
    super('the object changed since it was listed');
  }
}

/** A part refused because the object no longer has the ETag it was pinned to (HTTP 412). */
function refusedIfMatch(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata
      ?.httpStatusCode;
    if (status === 412) return true;
  }
  return false;
}

/**
 * One ranged GET of `part` (inclusive byte range) written at its offset into `temp`, and hashed by
 * what `hashOf` gives once the HEAD said which CRCs to take (if any). Its body is read after
 * `turn.after` (the worker's part before it), and `turn.nearEnd` is called when the next part's
 * GET should go out (partOverlap.ts). Returns the bytes counted on the reporter; on failure they
 * are taken back before the error is rethrown.
 */
async function downloadPart(
  ctx: RestoreContext,
  obj: ObjectRef,
  etag: string | undefined,
  temp: TempFile,
  part: [number, number],
  signal: AbortSignal,
  onWritten: (position: number) => void,
  hashOf: () => Promise<PartHash | undefined>,
  turn: { nearEnd: () => void; after: Promise<void> },
): Promise<number> {
  let partCounted = 0;
  const sentAt = performance.now();
  const res = await ctx.s3.getObject({
    key: obj.key,
    versionId: obj.versionId,
    range: part,
    ifMatch: etag,
    signal,
  });
  const answerMs = performance.now() - sentAt;
  try {
    // The body is read once the worker's part before this has ended (partWorkers.ts); until then
    // it stays in the socket's buffer.
    res.hold();
    await turn.after;
    signal.throwIfAborted();
    const overlap = new PartOverlap(
      answerMs,
      performance.now(),
      part[1] + 1 - part[0],
    );
    // The HEAD went out with the first parts: it has answered by now, as a rule.
    const hash = await hashOf();
    let position = part[0];
    let batch: Buffer[] = [];
    let batchBytes = 0;
    for await (const chunk of res) {
      hash?.update(chunk);
      batch.push(chunk);
      batchBytes += chunk.length;
      partCounted += chunk.length;
      if (overlap.due(partCounted, performance.now())) turn.nearEnd();
      ctx.reporter.addBytes(chunk.length);
      if (ctx.limiter) await ctx.limiter.take(chunk.length, signal);
      if (batchBytes >= WRITE_BATCH_BYTES) {
        await temp.writeAt(batch, position);
        recycleBodyChunks(batch);
        position += batchBytes;
        onWritten(position);
        batch = [];
        batchBytes = 0;
      }
    }
    if (batchBytes > 0) await temp.writeAt(batch, position);
    position += batchBytes;
    onWritten(position);
    if (position !== part[1] + 1)
      throw mismatch(
        obj.key,
        `part ${part[0]}-${part[1]} ended at ${position}`,
      );
    hash?.finish();
    return partCounted;
  } catch (error) {
    ctx.reporter.addBytes(-partCounted);
    throw error;
  } finally {
    if (!res.complete) res.destroy();
  }
}

/**
 * Downloads `obj` in ranged parts. `lent` is the second gate slot downloadOnce took for it (0 or 1).
 */
export async function downloadRanged(
  ctx: RestoreContext,
  obj: ObjectRef,
  finalPath: string,
  attributes: FileAttributes,
  lent: number,
): Promise<Downloaded> {
  // A "null" version (written while versioning was off or suspended) is overwritten in place.
  const pinned =
    obj.etag !== undefined ||
    (obj.versionId !== undefined && obj.versionId !== 'null');
  if (pinned) {
    try {
      return await rangedInto(ctx, obj, headForParts(ctx, obj), {
        finalPath,
        attributes,
        lent,
        afterHead: false,
      });
    } catch (error) {
      if (!(error instanceof ChangedSinceListing)) throw error;
      ctx.reporter.log('info', 'the object changed since it was listed', {
        key: obj.key,
      });
    }
  }
  const head = await headForParts(ctx, obj);
  return rangedInto(
    ctx,
    { ...obj, size: head.size, etag: head.etag },
    Promise.resolve(head),
    { finalPath, attributes, lent, afterHead: true },
  );
}

/**
 * The parts of `obj` as its `size` and `etag` say, beside `headed`. Throws ChangedSinceListing when
 * the HEAD or a part finds another version, unless the parts were pinned by that HEAD already
 * (`afterHead`): then the object changed while it was read, a CHECKSUM_MISMATCH (fetched once more).
 */
async function rangedInto(
  ctx: RestoreContext,
  obj: ObjectRef,
  headed: Promise<PartsHead>,
  target: {
    finalPath: string;
    attributes: FileAttributes;
    lent: number;
    afterHead: boolean;
  },
): Promise<Downloaded> {
  const { size, etag } = obj;
  // The HEAD may fail before the parts are awaited: its rejection is handled where it is awaited.
  headed.catch(() => undefined);
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  setMaxListeners(0, signal);
  let fileHasher: FileHasher | undefined;
  let counted = 0;
  let partsDone: Promise<{ failed: boolean; error?: unknown }> | undefined;
  let temp: TempFile | undefined;
  try {
    const file = await TempFile.create(
      target.finalPath,
      target.attributes.mode ?? 0o644,
      { tag: ctx.tempTag },
    );
    temp = file;
    await file.fd.truncate(size);
    const parts: Array<[number, number]> = [];
    for (let start = 0; start < size; start += ctx.tuning.partSize) {
      parts.push([start, Math.min(size, start + ctx.tuning.partSize) - 1]);
    }
    // The full-object CRCs the HEAD names, taken part by part (none when it failed: that failure
    // ends the object below).
    const partCrcs = headed.then(
      h => PartCrcs.for(h.checks, parts),
      () => undefined,
    );
    // How far each part is written; the hasher reads the contiguous prefix.
    const written = parts.map(p => p[0]);
    let firstOpen = 0;
    const prefix = () => (firstOpen < parts.length ? written[firstOpen] : size);
    const onWritten = (index: number, position: number) => {
      written[index] = Math.max(written[index], position);
      while (
        firstOpen < parts.length &&
        written[firstOpen] > parts[firstOpen][1]
      )
        firstOpen++;
      fileHasher?.advance(prefix());
    };
    partsDone = runParts(
      parts.length,
      ctx.tuning.partConcurrency,
      ctx.inFlight,
      signal,
      async (index, partSignal, nearEnd, after) => {
        const partCounted = await withRetry(
          () =>
            downloadPart(
              ctx,
              obj,
              etag,
              file,
              parts[index],
              partSignal,
              position => onWritten(index, position),
              async () => (await partCrcs)?.start(index),
              { nearEnd, after },
            ),
          ctx.retry,
          { signal: partSignal, entry: obj.key },
        );
        counted += partCounted;
      },
      target.lent,
    ).then(
      () => ({ failed: false }),
      (error: unknown) => ({ failed: true, error }),
    );
    const head = await headed;
    if (
      head.size !== size ||
      (etag !== undefined &&
        (head.etag === undefined || bareEtag(head.etag) !== bareEtag(etag)))
    )
      throw new ChangedSinceListing();
    const { offloaded, inline } = splitChecks(head.checks, size);
    const byParts = await partCrcs;
    fileHasher = fileHasherFor(ctx.hashWorkers, file.path, offloaded);
    fileHasher?.advance(prefix());
    const result = await partsDone;
    if (ctx.signal.aborted)
      throw new RestoreError('CANCELLED', 'the restore was stopped', {
        entry: obj.key,
      });
    if (result.failed) {
      if (!refusedIfMatch(result.error)) throw result.error;
      if (!target.afterHead) throw new ChangedSinceListing();
      throw mismatch(
        obj.key,
        'the object changed while its parts were read (a part was refused: HTTP 412)',
      );
    }
    const st = await file.fd.stat();
    if (st.size !== size)
      throw mismatch(obj.key, `wrote ${st.size} bytes, expected ${size}`);
    const offDigests = fileHasher ? await fileHasher.digests(size) : [];
    checkDigests(obj.key, offloaded, offDigests);
    if (byParts) checkDigests(obj.key, byParts.checks, byParts.digests());
    const readBack = inline.filter(c => !byParts?.checks.includes(c));
    if (readBack.length > 0) await checkInline(obj.key, file.path, readBack);
    await file.commit(
      {
        ...target.attributes,
        mtime: target.attributes.mtime ?? head.lastModified ?? obj.lastModified,
      },
      { fsync: size >= FSYNC_MIN_BYTES },
    );
    return {
      bytes: size,
      etag: etag ?? head.etag,
      checksum: checksumLabel(head.checks),
      verifiedBy: verificationKind(head.checks),
    };
  } catch (error) {
    // Every part (and the HEAD with what it asks) has stopped before what they wrote and
    // counted is taken back.
    stop.abort();
    await partsDone;
    await headed.catch(() => undefined);
    ctx.reporter.addBytes(-counted);
    fileHasher?.abort();
    await temp?.discard();
    throw error;
  }
}

/** Composite checksums, read back from the file: the parts were written out of order. */
async function checkInline(
  key: string,
  tempPath: string,
  inline: ExpectedChecksum[],
): Promise<void> {
  const hashers = inline.map(createHasher);
  const reader = await fsp.open(tempPath, 'r');
  try {
    for await (const chunk of reader.createReadStream({
      highWaterMark: WRITE_BATCH_BYTES,
    }) as AsyncIterable<Buffer>) {
      for (const h of hashers) h.update(chunk);
    }
  } finally {
    await reader.close().catch(() => undefined);
  }
  checkDigests(
    key,
    inline,
    hashers.map(h => h.digest()),
  );
}
