/**
 * The part layout of a multipart object, for composite checksums and multipart ETags (checksums.ts):
 * the size of each part. From GetObjectAttributes (ObjectParts, a page of up to 1000 parts per call)
 * when the server gives every part's size, else from a HEAD of each part (`?partNumber=N`, whose
 * Content-Length is that part's size). Either way the sizes must add up to the object's size and
 * number N, or the layout is not used: a wrong layout would turn a good object into a mismatch.
 */
import type { ExpectedChecksum } from '../checksums';
import { classifyError } from '../errors';
import { withRetry } from '../retry';
import type { ObjectRef, RestoreContext } from './types';
import { forEachLimited } from './util';

/** HEADs of parts in flight for one object. */
const PART_HEADS_AT_ONCE = 8;

/** A server without the call (501 NotImplemented) answers the same way every time: no retry. */
async function notRetriedIfUnsupported<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const e = error as {
      name?: string;
      $metadata?: { httpStatusCode?: number };
    };
    if (e.name === 'NotImplemented' || e.$metadata?.httpStatusCode === 501)
      throw new Error(`the server does not implement it (${e.name})`);
    throw error;
  }
}

/** Sizes of the `parts` parts of `obj` from GetObjectAttributes, or undefined. */
async function fromAttributes(
  ctx: RestoreContext,
  obj: ObjectRef,
  parts: number,
): Promise<number[] | undefined> {
  const { client, commands } = ctx.s3.controlCalls();
  const sizes: number[] = [];
  let marker: string | undefined;
  for (;;) {
    const after = marker;
    const page = await withRetry(
      () =>
        notRetriedIfUnsupported(() =>
          client.send(
            new commands.GetObjectAttributesCommand({
              Bucket: ctx.s3.bucket,
              Key: obj.key,
              VersionId: obj.versionId,
              ObjectAttributes: ['ObjectParts'],
              MaxParts: 1000,
              PartNumberMarker: after,
            }),
            { abortSignal: ctx.signal },
          ),
        ),
      ctx.retry,
      { signal: ctx.signal, entry: obj.key },
    );
    const op = page.ObjectParts;
    if (!op || op.TotalPartsCount !== parts) return undefined;
    for (const part of op.Parts ?? []) {
      if (part.PartNumber !== sizes.length + 1 || part.Size === undefined)
        return undefined;
      sizes.push(part.Size);
    }
    if (!op.IsTruncated) break;
    const next = op.NextPartNumberMarker;
    if (next === undefined || String(next) === marker) return undefined;
    marker = String(next);
  }
  return sizes;
}

/** Sizes of the `parts` parts of `obj` from a HEAD of each. */
async function fromPartHeads(
  ctx: RestoreContext,
  obj: ObjectRef,
  parts: number,
): Promise<number[] | undefined> {
  const sizes: number[] = new Array(parts);
  const numbers = Array.from({ length: parts }, (_, i) => i + 1);
  await forEachLimited(numbers, PART_HEADS_AT_ONCE, ctx.signal, async n => {
    const res = await withRetry(
      () =>
        notRetriedIfUnsupported(() =>
          ctx.s3.request('HEAD', {
            key: obj.key,
            versionId: obj.versionId,
            partNumber: n,
            ifMatch: obj.etag,
            signal: ctx.signal,
          }),
        ),
      ctx.retry,
      { signal: ctx.signal, entry: obj.key },
    );
    res.resume();
    const length = Number(res.headers['content-length']);
    const count = res.headers['x-amz-mp-parts-count'];
    if (count !== undefined && Number(count) !== parts)
      throw new Error(`x-amz-mp-parts-count is ${count}, not ${parts}`);
    sizes[n - 1] = Number.isFinite(length) ? length : NaN;
  });
  return sizes.every(Number.isFinite) ? sizes : undefined;
}

/**
 * The part sizes of `obj` when it has `parts` parts, or undefined (logged) when neither way gives a
 * layout that adds up to `size`.
 */
export async function partLayout(
  ctx: RestoreContext,
  obj: ObjectRef,
  parts: number,
  size: number,
): Promise<number[] | undefined> {
  const reasons: string[] = [];
  for (const [how, find] of [
    ['GetObjectAttributes', fromAttributes],
    ['HEAD ?partNumber', fromPartHeads],
  ] as const) {
    try {
      const sizes = await find(ctx, obj, parts);
      const total = sizes?.reduce((a, b) => a + b, 0);
      if (sizes && sizes.length === parts && total === size) return sizes;
      reasons.push(
        sizes
          ? `${how}: ${sizes.length} part(s) of ${total} bytes`
          : `${how}: no part sizes`,
      );
    } catch (error) {
      const e = classifyError(error, obj.key);
      if (e.code === 'CANCELLED' || ctx.signal.aborted) throw e;
      reasons.push(`${how}: ${e.code} ${e.message}`);
    }
  }
  ctx.reporter.log(
    'warn',
    'the part layout of a multipart object is unknown: its composite checksum is not verified',
    { key: obj.key, parts, reasons: reasons.join('; ') },
  );
  return undefined;
}

/**
 * `checks` with the part sizes of composite ones filled in (one layout for all of them); composite
 * checks whose layout cannot be had are dropped.
 */
export async function withPartSizes(
  ctx: RestoreContext,
  obj: ObjectRef,
  size: number,
  checks: ExpectedChecksum[],
): Promise<ExpectedChecksum[]> {
  const composite = checks.find(c => c.parts !== undefined);
  if (!composite) return checks;
  const sizes = await partLayout(ctx, obj, composite.parts!, size);
  return checks.flatMap(c => {
    if (c.parts === undefined) return [c];
    if (!sizes || c.parts !== sizes.length) return [];
    return [{ ...c, partSizes: sizes }];
  });
}
