/**
 * One object from S3 to one file: a single signed GET streamed into a temporary file, or parallel
 * ranged GETs written in place for large objects (rangedDownload.ts); verified (size always, then the strongest
 * checksum available) before the rename. A checksum mismatch is retried once, then it is
 * CHECKSUM_MISMATCH; throttling, 5xx and broken connections are retried with backoff.
 */
import {
  checksumLabel,
  createHasher,
  ExpectedChecksum,
  OFFLOAD_HASH_MIN_BYTES,
  verificationKind,
} from '../checksums';
import { classifyError } from '../errors';
import type { FileHasher } from '../fileHasher';
import { SMALL_OBJECT_BYTES } from '../inFlight';
import { recycleBodyChunks } from '../s3/keepAliveHttp';
import { contentLengthOf, lastModifiedOf } from '../s3/objectHead';
import { withRetry } from '../retry';
import type { FileAttributes } from '../temporaries';
import { writeFileAtomically } from '../writeFileAtomically';
import {
  checkDigests,
  checksFor,
  Downloaded,
  fileHasherFor,
  mismatch,
  splitChecks,
} from './objectChecks';
import { downloadRanged } from './rangedDownload';
import type { ObjectRef, RestoreContext } from './types';

/**
 * Downloads `obj` to `finalPath` (absolute, inside the root), once the restore's gate lets it in
 * (inFlight.ts: callers may run more downloads at once than large objects are allowed).
 */
export async function downloadObject(
  ctx: RestoreContext,
  obj: ObjectRef,
  finalPath: string,
  attributes: FileAttributes,
): Promise<Downloaded> {
  try {
    return await ctx.inFlight.run(obj.size, ctx.signal, () =>
      downloadCounted(ctx, obj, finalPath, attributes),
    );
  } catch (error) {
    const grew = grewOf(error);
    if (!grew) throw error;
    // Replaced by a large object since the listing: through the gate again, as what it is now.
    ctx.reporter.log('info', 'the object grew since it was listed', {
      key: obj.key,
      listedBytes: obj.size,
      bytes: grew.size,
    });
    return downloadObject(
      ctx,
      { ...obj, size: grew.size, etag: grew.etag ?? obj.etag },
      finalPath,
      attributes,
    );
  }
}

/**
 * A GET let in through the gate as a small object (by its listed size) answered with a large one:
 * the object was replaced since the listing. Its body is not read under the small slot, where many
 * such bodies at once could hold far more memory than the gate allows for.
 */
class GrewSinceListing extends Error {
  constructor(
    readonly size: number,
    readonly etag: string | undefined,
  ) {
    super(`the object is ${size} bytes now, more than when it was listed`);
  }
}

function grewOf(error: unknown): GrewSinceListing | undefined {
  for (let e = error; e instanceof Error; e = e.cause)
    if (e instanceof GrewSinceListing) return e;
  return undefined;
}

async function downloadCounted(
  ctx: RestoreContext,
  obj: ObjectRef,
  finalPath: string,
  attributes: FileAttributes,
): Promise<Downloaded> {
  const large = obj.size >= OFFLOAD_HASH_MIN_BYTES;
  if (large) ctx.hashWorkers.largeInFlight++;
  try {
    return await downloadVerified(ctx, obj, finalPath, attributes);
  } finally {
    if (large) ctx.hashWorkers.largeInFlight--;
  }
}

async function downloadVerified(
  ctx: RestoreContext,
  obj: ObjectRef,
  finalPath: string,
  attributes: FileAttributes,
): Promise<Downloaded> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await withRetry(
        () => downloadOnce(ctx, obj, finalPath, attributes),
        ctx.retry,
        {
          signal: ctx.signal,
          entry: obj.key,
          onRetry: (error, n, delayMs) =>
            ctx.reporter.log('warn', 'retrying an object', {
              key: obj.key,
              code: error.code,
              error: error.message,
              attempt: n,
              delayMs,
            }),
        },
      );
    } catch (error) {
      const e = classifyError(error, obj.key);
      if (
        e.code === 'CHECKSUM_MISMATCH' &&
        attempt === 0 &&
        !ctx.signal.aborted
      ) {
        ctx.reporter.log(
          'warn',
          'checksum mismatch, fetching the object once more',
          { key: obj.key, error: e.message },
        );
        continue;
      }
      throw e;
    }
  }
}

async function downloadStream(
  ctx: RestoreContext,
  obj: ObjectRef,
  finalPath: string,
  attributes: FileAttributes,
): Promise<Downloaded> {
  const verify = ctx.request.options.verify;
  const res = await ctx.s3.getObject({
    key: obj.key,
    versionId: obj.versionId,
    checksumMode: verify,
    signal: ctx.signal,
  });
  let size: number;
  let checks: ExpectedChecksum[];
  try {
    size = contentLengthOf(res.headers, obj.key) ?? obj.size;
    if (obj.size <= SMALL_OBJECT_BYTES && size > SMALL_OBJECT_BYTES)
      throw new GrewSinceListing(size, res.headers.etag);
    checks = await checksFor(
      ctx,
      { ...obj, etag: res.headers.etag ?? obj.etag },
      size,
      res,
    );
  } catch (error) {
    res.destroy();
    throw error;
  }
  const { offloaded, inline } = splitChecks(checks, size);
  const hashers = inline.map(createHasher);
  let fileHasher: FileHasher | undefined;
  const etag = res.headers.etag ?? obj.etag;
  let counted = 0;
  const { reporter, limiter, signal } = ctx;
  async function* body(): AsyncGenerator<Buffer> {
    for await (const chunk of res) {
      for (const h of hashers) h.update(chunk);
      counted += chunk.length;
      reporter.addBytes(chunk.length);
      if (limiter) await limiter.take(chunk.length, signal);
      yield chunk;
    }
  }
  try {
    await writeFileAtomically(finalPath, body(), {
      ...attributes,
      mtime:
        attributes.mtime ?? lastModifiedOf(res.headers) ?? obj.lastModified,
      onOpen: tempPath => {
        fileHasher = fileHasherFor(ctx.hashWorkers, tempPath, offloaded);
      },
      onWritten:
        offloaded.length > 0 ? upTo => fileHasher?.advance(upTo) : undefined,
      recycle: recycleBodyChunks,
      // In one synchronous go while the file system answers quickly, else through the thread
      // pool: many objects are written at once, and a create that waits stalls them all.
      syncSmall: ctx.smallWrites,
      tempTag: ctx.tempTag,
      verify: async bytes => {
        if (bytes !== size)
          throw mismatch(obj.key, `received ${bytes} bytes, expected ${size}`);
        const offDigests = fileHasher ? await fileHasher.digests(bytes) : [];
        // the worker's digests first: they are the ones computed away from the stream
        checkDigests(
          obj.key,
          [...offloaded, ...inline],
          [...offDigests, ...hashers.map(h => h.digest())],
        );
      },
    });
    return {
      bytes: size,
      etag,
      checksum: checksumLabel(checks),
      verifiedBy: verificationKind(checks),
    };
  } catch (error) {
    reporter.addBytes(-counted);
    throw error;
  } finally {
    fileHasher?.abort();
    if (!res.complete) res.destroy();
  }
}

/**
 * One attempt at an object: as ranged parts when it is large enough and the gate has a spare large
 * slot for a second stream now (taken here, given back here); otherwise, when every large slot is
 * busy with other objects, as one GET, which costs no round trip per part.
 */
async function downloadOnce(
  ctx: RestoreContext,
  obj: ObjectRef,
  finalPath: string,
  attributes: FileAttributes,
): Promise<Downloaded> {
  const { rangeThreshold, partSize, partConcurrency } = ctx.tuning;
  if (obj.size < rangeThreshold || obj.size <= partSize)
    return downloadStream(ctx, obj, finalPath, attributes);
  // One part at a time, as the request asked: no second stream to find room for.
  if (partConcurrency === 1)
    return downloadRanged(ctx, obj, finalPath, attributes, 0);
  if (ctx.inFlight.takeSpareLarge(1) === 0)
    return downloadStream(ctx, obj, finalPath, attributes);
  try {
    return await downloadRanged(ctx, obj, finalPath, attributes, 1);
  } finally {
    ctx.inFlight.releaseLarge();
  }
}
