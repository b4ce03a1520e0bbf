/**
 * The listing of an objects source: every object under a prefix (ListObjectsV2, or
 * ListObjectVersions for `asOf`), or one key (a lean HEAD), page by page. A shard of a request with
 * shard bounds lists only its own key range: it starts after the range's first bound (StartAfter,
 * or KeyMarker for versions) and stops at its last key, so that all shards together list the
 * prefix about once. Without bounds, every shard lists the whole prefix (hash sharding).
 */
import { compareKeys, type RestoreRequest } from '@kube-restore/common';
import type { HeadObjectRequest, ListObjectsV2Request } from '../s3/access';
import { plannedStorageClass } from '../s3/objectHead';
import { rangeOf, type KeyRange, type Shard } from '../shard';
import { controlCall, headOf } from './util';
import type { ObjectRef, RestoreContext } from './types';

export interface ListedObject extends ObjectRef {
  storageClass?: string;
}

/** A version or a delete marker of one key, as ListObjectVersions returns them. */
type Candidate = { key: string; at: Date; marker: boolean; obj?: ListedObject };

/** By key, then newest first within a key. */
function newestFirstPerKey(a: Candidate, b: Candidate): number {
  if (a.key < b.key) return -1;
  if (a.key > b.key) return 1;
  return b.at.getTime() - a.at.getTime();
}

/**
 * One object as it was at `asOf`: the newest of its versions at or before then, from
 * ListObjectVersions (only the key's own: as a prefix it matches longer keys too); undefined when
 * it had none then or a delete marker hid it.
 */
export async function versionAsOf(
  ctx: RestoreContext,
  key: string,
  asOf: string,
): Promise<ListedObject | undefined> {
  // The key sorts before every longer key under it: the first object listed is it, or it had none.
  for await (const o of listAsOf(ctx, key, new Date(asOf), {}))
    return o.key === key ? o : undefined;
  return undefined;
}

/** One object as it is now, by a lean HEAD. */
export async function currentObject(
  ctx: RestoreContext,
  key: string,
): Promise<ListedObject> {
  const head = await headOf(ctx, { key });
  return {
    key,
    size: head.size,
    etag: head.etag,
    lastModified: head.lastModified,
    storageClass: plannedStorageClass(head),
    versionId: undefined,
  };
}

/** Every object of the request's source, page by page. */
export async function* listObjects(
  ctx: RestoreContext,
): AsyncGenerator<ListedObject> {
  const { source } = ctx.request;
  if (source.key !== undefined && source.asOf) {
    const version = await versionAsOf(ctx, source.key, source.asOf);
    if (version) yield version;
    return;
  }
  if (source.key !== undefined) {
    yield await currentObject(ctx, source.key);
    return;
  }
  const prefix = source.prefix ?? '';
  const range = shardRange(ctx);
  if (source.asOf) {
    yield* listAsOf(ctx, prefix, new Date(source.asOf), range);
    return;
  }
  let token: string | undefined;
  do {
    const page = await listPage(ctx, prefix, token, range.after);
    for (const o of page.contents) {
      if (beyond(o.key, range)) return;
      yield o;
    }
    // A page that ends at the range's last key needs no next page.
    const lastKey = page.contents.at(-1)?.key;
    if (
      lastKey !== undefined &&
      range.last !== undefined &&
      lastKey === range.last
    )
      return;
    token = page.isTruncated ? page.nextContinuationToken : undefined;
  } while (token);
}

/** This shard's key range (everything for one pod or hash sharding); says which it lists. */
function shardRange(ctx: RestoreContext): KeyRange {
  const { shard, request, reporter } = ctx;
  if (!shard) return {};
  const range = rangeOf(shard, request.shards);
  if (range) {
    reporter.log('info', "listing this shard's key range", {
      after: range.after,
      last: range.last,
    });
    return range;
  }
  reporter.log(
    'info',
    'the request carries no shard bounds: every shard lists the whole prefix and keeps the keys that hash to it',
  );
  return {};
}

/** Is `key` past the range's last key? The listing is in key order, so nothing after it is ours. */
function beyond(key: string, range: KeyRange): boolean {
  return range.last !== undefined && compareKeys(key, range.last) > 0;
}

/** The ListObjectsV2 request for the page after `token`. */
function pageRequest(
  prefix: string,
  token: string | undefined,
  startAfter: string | undefined,
): ListObjectsV2Request {
  return {
    prefix: prefix || undefined,
    continuationToken: token,
    // Only the first page: S3 ignores StartAfter once a continuation token is given.
    startAfter: token ? undefined : startAfter,
    maxKeys: 1000,
  };
}

/**
 * The first ListObjectsV2 page that listObjects will ask for, or undefined when this request
 * lists otherwise (one key, `asOf`, an archive): run.ts sends it early.
 */
export function firstListPage(
  request: RestoreRequest,
  shard: Shard | undefined,
): ListObjectsV2Request | undefined {
  const { source } = request;
  if (source.format === 'tar' || source.key !== undefined || source.asOf)
    return undefined;
  return pageRequest(
    source.prefix ?? '',
    undefined,
    rangeOf(shard, request.shards)?.after,
  );
}

/**
 * The HEAD of the request's one key, which listObjects and the archive source's plan send first
 * (also after `auto` sniffed the object's first bytes), or undefined for a prefix: run.ts sends it
 * early.
 */
export function firstHeadObject(
  request: RestoreRequest,
): HeadObjectRequest | undefined {
  const { key, asOf } = request.source;
  // A key as of an instant is found among its versions, not by a HEAD.
  return key === undefined || asOf ? undefined : { key };
}

/** One page of ListObjectsV2 after `token`, on the lean path (s3/access.ts, s3/listPage.ts). */
function listPage(
  ctx: RestoreContext,
  prefix: string,
  token: string | undefined,
  startAfter: string | undefined,
) {
  return controlCall(ctx, prefix || undefined, () =>
    ctx.s3.listObjectsV2({
      ...pageRequest(prefix, token, startAfter),
      signal: ctx.signal,
    }),
  );
}

/** One page of ListObjectVersions after the markers (a key marker alone: after all its versions). */
function listVersionsPage(
  ctx: RestoreContext,
  prefix: string,
  keyMarker: string | undefined,
  versionMarker: string | undefined,
) {
  const { bucket } = ctx.s3;
  const { client, commands } = ctx.s3.controlCalls();
  return controlCall(ctx, prefix || undefined, () =>
    client.send(
      new commands.ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: prefix || undefined,
        KeyMarker: keyMarker,
        VersionIdMarker: versionMarker,
        MaxKeys: 1000,
      }),
      { abortSignal: ctx.signal },
    ),
  );
}

/** The newest version of each key at or before `asOf`; a delete marker there hides the key. */
async function* listAsOf(
  ctx: RestoreContext,
  prefix: string,
  asOf: Date,
  range: KeyRange,
): AsyncGenerator<ListedObject> {
  let keyMarker: string | undefined = range.after;
  let versionMarker: string | undefined;
  let decidedKey: string | undefined;
  do {
    const page = await listVersionsPage(ctx, prefix, keyMarker, versionMarker);
    const candidates: Candidate[] = [];
    for (const v of page.Versions ?? []) {
      if (v.Key === undefined || !v.LastModified) continue;
      candidates.push({
        key: v.Key,
        at: v.LastModified,
        marker: false,
        obj: {
          key: v.Key,
          // "null" names the version written before versioning was enabled: GETs ask for it
          // by that name, else they would read the current version instead.
          versionId: v.VersionId || undefined,
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
    // Versions of the range's last key may go on in the next page: only a later key ends it.
    let ended = false;
    for (const c of candidates) {
      if (beyond(c.key, range)) {
        ended = true;
        continue;
      }
      if (c.key === decidedKey) continue;
      if (c.at.getTime() > asOf.getTime()) continue;
      decidedKey = c.key;
      if (!c.marker && c.obj) yield c.obj;
    }
    if (ended) return;
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
  } while (keyMarker);
}
