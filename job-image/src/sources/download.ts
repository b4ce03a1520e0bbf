/**
 * One object from S3 to one file: a single signed GET streamed into a temporary file, or parallel
 * ranged GETs written in place for large objects; verified (size always, then the strongest
 * checksum available) before the rename. A checksum mismatch is retried once, then it is
 * CHECKSUM_MISMATCH; throttling, 5xx and broken connections are retried with backoff.
 */
import { promises as fsp } from 'node:fs';
import {
  allChecksums,
  checksumLabel,
  createHasher,
  ExpectedChecksum,
  OFFLOAD_HASH_MIN_BYTES,
  verificationKind,
  workerAlgorithmOf,
} from '../checksums';
import { classifyError, RestoreError } from '../errors';
import type { FileHasher, HashWorkerPool } from '../fileHasher';
import { SMALL_OBJECT_BYTES } from '../inFlight';
import type { HttpResponse } from '../s3/access';
import { recycleBodyChunks } from '../s3/keepAliveHttp';
import { contentLengthOf, lastModifiedOf } from '../s3/objectHead';
import { withRetry } from '../retry';
import { withPartSizes } from './parts';
import { runParts } from './partWorkers';
import {
  FileAttributes,
  FSYNC_MIN_BYTES,
  TempFile,
  WRITE_BATCH_BYTES,
  writeFileAtomically,
} from '../writeFileAtomically';

import type { ObjectRef, RestoreContext } from './types';

/** Splits checks into those a worker hashes from the file and those hashed in line (the CRCs). */
function splitChecks(
  checks: ExpectedChecksum[],
  size: number,
): { offloaded: ExpectedChecksum[]; inline: ExpectedChecksum[] } {
  // Large bodies are hashed (MD5, SHA-*) on a worker thread reading the file as it is written.
  if (size < OFFLOAD_HASH_MIN_BYTES) return { offloaded: [], inline: checks };
  return {
    offloaded: checks.filter(c => workerAlgorithmOf(c)),
    inline: checks.filter(c => !workerAlgorithmOf(c)),
  };
}

/**
 * A worker hashing `tempPath` as it is written. While more than one object large enough for a hash
 * worker is being downloaded, their MD5s share the workers' SIMD lanes; one large object alone
 * keeps OpenSSL's MD5, the faster one for a single stream (fileHasher.ts).
 */
function fileHasherFor(
  workers: HashWorkerPool,
  tempPath: string,
  checks: ExpectedChecksum[],
): FileHasher | undefined {
  if (checks.length === 0) return undefined;
  return workers.hash(
    tempPath,
    checks.map(c => ({
      name: workerAlgorithmOf(c.algorithm)!,
      encoding: c.encoding,
    })),
    { lanes: workers.largeInFlight > 1 },
  );
}

export interface Downloaded {
  bytes: number;
  etag?: string;
  /** checksumLabel: what the body was checked against. */
  checksum: string;
  /** verificationKind: `CRC64NVME`, `CRC32C (composite)`, `MD5`, `size only`... */
  verifiedBy: string;
}

/** The checks of a response's headers, composite ones with their part layout (or dropped). */
async function checksFor(
  ctx: RestoreContext,
  obj: ObjectRef,
  size: number,
  res: HttpResponse,
): Promise<ExpectedChecksum[]> {
  if (!ctx.request.options.verify) return [];
  return withPartSizes(ctx, obj, size, allChecksums(res.headers));
}

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

function mismatch(key: string, what: string): RestoreError {
  return new RestoreError('CHECKSUM_MISMATCH', `"${key}": ${what}`, {
    entry: key,
  });
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

function checkDigests(
  key: string,
  checks: ExpectedChecksum[],
  digests: string[],
): void {
  checks.forEach((check, i) => {
    if (digests[i] !== check.expected) {
      throw mismatch(
        key,
        `${check.algorithm} is ${digests[i]}, the object says ${check.expected}`,
      );
    }
  });
}

/**
 * One ranged GET of `part` (inclusive byte range) written at its offset into `temp`. Returns the
 * bytes counted on the reporter; on failure they are taken back before the error is rethrown.
 */
async function downloadPart(
  ctx: RestoreContext,
  obj: ObjectRef,
  etag: string | undefined,
  temp: TempFile,
  part: [number, number],
  signal: AbortSignal,
  onWritten: (position: number) => void,
): Promise<number> {
  let partCounted = 0;
  const res = await ctx.s3.getObject({
    key: obj.key,
    versionId: obj.versionId,
    range: part,
    ifMatch: etag,
    signal,
  });
  try {
    let position = part[0];
    let batch: Buffer[] = [];
    let batchBytes = 0;
    for await (const chunk of res) {
      batch.push(chunk);
      batchBytes += chunk.length;
      partCounted += chunk.length;
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
    return partCounted;
  } catch (error) {
    ctx.reporter.addBytes(-partCounted);
    throw error;
  } finally {
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

/**
 * Parallel ranged GETs (If-Match the ETag of a HEAD, so every part is of one version; as many at
 * once as options.parts.concurrency and the gate's spare large slots allow, partWorkers.ts) written
 * at their offsets into a preallocated temporary file. Checksums of the whole object come from the
 * HEAD: MD5 and SHA-* are hashed by a worker as the file's contiguous prefix grows; CRCs by reading
 * the file back at the end (the parts arrive out of order).
 */
async function downloadRanged(
  ctx: RestoreContext,
  obj: ObjectRef,
  finalPath: string,
  attributes: FileAttributes,
  lent: number,
): Promise<Downloaded> {
  const verify = ctx.request.options.verify;
  const head = await ctx.s3.request('HEAD', {
    key: obj.key,
    versionId: obj.versionId,
    checksumMode: verify,
    signal: ctx.signal,
  });
  head.resume();
  const size = contentLengthOf(head.headers, obj.key) ?? obj.size;
  const etag = head.headers.etag ?? obj.etag;
  const checks = await checksFor(ctx, { ...obj, etag }, size, head);
  const { offloaded, inline } = splitChecks(checks, size);
  const temp = await TempFile.create(finalPath, attributes.mode ?? 0o644, {
    tag: ctx.tempTag,
  });
  let fileHasher: FileHasher | undefined;
  let counted = 0;
  try {
    fileHasher = fileHasherFor(ctx.hashWorkers, temp.path, offloaded);
    await temp.fd.truncate(size);
    const parts: Array<[number, number]> = [];
    for (let start = 0; start < size; start += ctx.tuning.partSize) {
      parts.push([start, Math.min(size, start + ctx.tuning.partSize) - 1]);
    }
    // How far each part is written; the hasher reads the contiguous prefix.
    const written = parts.map(p => p[0]);
    let firstOpen = 0;
    const onWritten = (index: number, position: number) => {
      written[index] = Math.max(written[index], position);
      while (
        firstOpen < parts.length &&
        written[firstOpen] > parts[firstOpen][1]
      )
        firstOpen++;
      fileHasher?.advance(firstOpen < parts.length ? written[firstOpen] : size);
    };
    await runParts(
      parts.length,
      ctx.tuning.partConcurrency,
      ctx.inFlight,
      ctx.signal,
      async (index, signal) => {
        const partCounted = await withRetry(
          () =>
            downloadPart(ctx, obj, etag, temp, parts[index], signal, position =>
              onWritten(index, position),
            ),
          ctx.retry,
          { signal, entry: obj.key },
        );
        counted += partCounted;
      },
      lent,
    );
    if (ctx.signal.aborted)
      throw new RestoreError('CANCELLED', 'the restore was stopped', {
        entry: obj.key,
      });
    const st = await temp.fd.stat();
    if (st.size !== size)
      throw mismatch(obj.key, `wrote ${st.size} bytes, expected ${size}`);
    const offDigests = fileHasher ? await fileHasher.digests(size) : [];
    checkDigests(obj.key, offloaded, offDigests);
    if (inline.length > 0) {
      const hashers = inline.map(createHasher);
      const reader = await fsp.open(temp.path, 'r');
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
        obj.key,
        inline,
        hashers.map(h => h.digest()),
      );
    }
    await temp.commit(
      {
        ...attributes,
        mtime:
          attributes.mtime ?? lastModifiedOf(head.headers) ?? obj.lastModified,
      },
      { fsync: size >= FSYNC_MIN_BYTES },
    );
    return {
      bytes: size,
      etag,
      checksum: checksumLabel(checks),
      verifiedBy: verificationKind(checks),
    };
  } catch (error) {
    ctx.reporter.addBytes(-counted);
    fileHasher?.abort();
    await temp.discard();
    throw error;
  }
}
