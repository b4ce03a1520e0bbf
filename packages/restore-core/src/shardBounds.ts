/**
 * Where the shards of a sharded restore split the key space, chosen while core lists the source
 * (`sizeSource`), so that each shard of the Job lists only its own range (request.shards.bounds).
 * A create that does not size the source lists it only up to a page budget; a larger prefix gets
 * its bounds from the structure of its keys instead (shardStructure.ts).
 *
 * The listing comes in key order. ShardBoundsSampler keeps a bounded, deterministic sample of it:
 * each key carries a weight (its bytes plus a fixed per-object cost), and a key is kept when the
 * running total of weights crosses a multiple of `step`. When more than `capacity` keys are kept,
 * `step` doubles and the keys that no longer cross a multiple are dropped (every other one, for
 * even weights). The sample therefore never holds more than `capacity` keys whatever the object
 * count, and the cut points it gives are within 2 x total / capacity of the ideal ones.
 */
import {
  compareKeys,
  type RestoreRequest,
  type RestoreSource,
} from '@kube-restore/common';
import {
  buildRestoreManifests,
  type BuildOptions,
  type RestoreManifests,
} from './manifests';
import {
  ListingBudgetExceeded,
  clientFor,
  sizeSource,
  translateS3Error,
  type S3Access,
  type S3Timeouts,
  type SizeOptions,
  type SourceSize,
} from './s3';
import { structureBounds } from './shardStructure';

/**
 * What one object costs beyond its bytes (a GET's round trip, a file's creation), in bytes: about
 * what a transfer moves in the time one small object takes, so that shards of many small objects
 * and shards of a few large ones take about as long.
 */
export const PER_OBJECT_COST = 256 * 1024;

/** Keys kept at most; 2048 keys of at most 1024 bytes are at most 2 MiB. */
export const DEFAULT_SAMPLE_CAPACITY = 2048;

/** S3 keys are at most 1024 bytes (and so are the request's bounds). */
const MAX_KEY_BYTES = 1024;

interface Sample {
  key: string;
  /** Running total of weights before and after this key. */
  before: number;
  after: number;
}

export class ShardBoundsSampler {
  private step = PER_OBJECT_COST;
  private total = 0;
  private samples: Sample[] = [];
  private last: string | undefined;
  /** A key came out of S3's order: no range split can be trusted then. */
  private unordered = false;

  constructor(
    readonly shards: number,
    private readonly capacity = DEFAULT_SAMPLE_CAPACITY,
  ) {
    if (!Number.isInteger(shards) || shards < 1)
      throw new RangeError(`shards must be a positive integer (got ${shards})`);
    if (!Number.isInteger(capacity) || capacity < 2)
      throw new RangeError(`capacity must be at least 2 (got ${capacity})`);
  }

  /** The next object of the listing, in S3's key order (otherwise bounds() gives none). */
  add(key: string, size: number): void {
    if (this.last !== undefined && compareKeys(this.last, key) >= 0)
      this.unordered = true;
    this.last = key;
    const before = this.total;
    this.total += Math.max(0, size) + PER_OBJECT_COST;
    if (!this.crosses(before, this.total)) return;
    this.samples.push({ key, before, after: this.total });
    while (this.samples.length > this.capacity) {
      this.step *= 2;
      this.samples = this.samples.filter(s => this.crosses(s.before, s.after));
    }
  }

  /** Does the running total pass a multiple of `step` between `before` and `after`? */
  private crosses(before: number, after: number): boolean {
    return Math.floor(after / this.step) > Math.floor(before / this.step);
  }

  /** How many keys the sample holds (for tests: it stays bounded). */
  get size(): number {
    return this.samples.length;
  }

  /**
   * shards - 1 keys, strictly ascending: shard i takes (bounds[i-1], bounds[i]]. Undefined for one
   * shard, nothing listed, or keys that came out of order. When there are fewer distinct keys than shards, the last shards get
   * bounds just after the last key (ranges that hold nothing); undefined if such a bound would be
   * longer than a key may be.
   */
  bounds(): string[] | undefined {
    const { samples, shards, total } = this;
    if (shards <= 1 || samples.length === 0 || this.unordered) return undefined;
    const out: string[] = [];
    let j = 0;
    for (let i = 1; i < shards; i++) {
      const target = (total * i) / shards;
      while (j < samples.length && samples[j].after < target) j++;
      // The nearer of the last sample short of the target and the first one reaching it.
      let pick = Math.min(j, samples.length - 1);
      if (
        pick > 0 &&
        target - samples[pick - 1].after < samples[pick].after - target
      )
        pick--;
      const previous = out.at(-1);
      while (
        previous !== undefined &&
        pick < samples.length &&
        compareKeys(samples[pick].key, previous) <= 0
      )
        pick++;
      if (pick < samples.length) {
        out.push(samples[pick].key);
        continue;
      }
      // Nothing left to split: a bound just after the previous one, which no real key falls in.
      const after = `${previous ?? samples[samples.length - 1].key}\u0001`;
      if (new TextEncoder().encode(after).length > MAX_KEY_BYTES)
        return undefined;
      out.push(after);
    }
    return out;
  }
}

/** Can this request's shards list by range? A prefix and more than one shard. */
export function shardable(request: RestoreRequest): boolean {
  return request.options.parallelism > 1 && request.source.key === undefined;
}

/**
 * LIST pages a create spends at most on an exact listing for the bounds (20,000 keys), and as
 * many again on the structure of a larger prefix. The pages come one after the other: the worst
 * case, a prefix just past the budget, is 40 pages, 4 to 20 seconds of waiting for `kubectl
 * restore create` or a Backstage POST (a page takes a tenth to half a second); a large prefix
 * with directories usually needs only a few structure pages. Either way a few percent of the
 * pages the Job's shards will list anyway for a prefix too large to list here.
 */
export const DEFAULT_BOUNDS_PAGE_BUDGET = 20;

export interface ShardBoundsOptions extends S3Access {
  signal?: AbortSignal;
  /** See DEFAULT_BOUNDS_PAGE_BUDGET (tests set fewer). */
  maxPages?: number;
  /** Items per LIST page (at most 1000). */
  pageSize?: number;
}

/**
 * Where the shards of `source` split it: from a full listing (as sizeSource does, weighted by
 * bytes) when it takes at most `maxPages` pages, else from the key space's structure (a delimiter
 * listing within the same budget); undefined when neither gives bounds.
 */
export async function listShardBounds(
  source: RestoreSource,
  shards: number,
  options: ShardBoundsOptions = {},
): Promise<string[] | undefined> {
  const maxPages = options.maxPages ?? DEFAULT_BOUNDS_PAGE_BUDGET;
  if (!Number.isInteger(maxPages) || maxPages < 1)
    throw new RangeError(
      `maxPages must be a positive integer (got ${maxPages})`,
    );
  const client = clientFor(source, options);
  const { signal, pageSize } = options;
  try {
    const sampler = new ShardBoundsSampler(shards);
    try {
      await sizeSource(source, { client, signal, pageSize, sampler, maxPages });
      return sampler.bounds();
    } catch (error) {
      if (!(error instanceof ListingBudgetExceeded)) throw error;
    }
    return await structureBounds(client, source, shards, {
      maxPages,
      pageSize,
      signal,
    }).catch(error => {
      throw translateS3Error(error, source, undefined, signal);
    });
  } finally {
    if (!options.client) client.destroy();
  }
}

/**
 * sizeSource for a request about to be created (`--size auto`): the same listing gives a sharded
 * request its bounds, so createRestore need not list the source again.
 */
export async function sizeRequest(
  request: RestoreRequest,
  options: SizeOptions = {},
): Promise<{ size: SourceSize; request: RestoreRequest }> {
  const sampler =
    shardable(request) && !request.shards
      ? new ShardBoundsSampler(request.options.parallelism)
      : undefined;
  const size = await sizeSource(request.source, { ...options, sampler });
  const bounds = sampler?.bounds();
  return {
    size,
    request: bounds ? { ...request, shards: { bounds } } : request,
  };
}

export interface WithShardBoundsOptions extends BuildOptions {
  signal?: AbortSignal;
  /**
   * Without keys (`credentials`), list with the caller's own identity (the AWS SDK's default
   * chain). Only for a caller that acts as the user who asks, on their machine (kubectl, as
   * `--size auto` does): a service (the populator, the Backstage backend) would list a bucket the
   * user may not read with its own identity, and put its key names in the Job's request.
   */
  ambientCredentials?: boolean;
  /** Of the listing's client (tests set short ones); see DEFAULT_S3_TIMEOUTS. */
  timeouts?: S3Timeouts;
}

/**
 * Who the bounds listing is made as: the caller's keys; nobody (unsigned) for an `anonymous`
 * source; the caller's default chain only when it opts in. Undefined: not listed from here.
 */
export function boundsAccess(
  request: RestoreRequest,
  options: Pick<WithShardBoundsOptions, 'credentials' | 'ambientCredentials'>,
): Pick<S3Access, 'credentials' | 'anonymous'> | undefined {
  if (options.credentials) return { credentials: options.credentials };
  if (request.credentials.type === 'anonymous') return { anonymous: true };
  if (options.ambientCredentials) return {};
  return undefined;
}

/**
 * The manifests of a sharded request that carries no bounds yet, rebuilt with bounds from
 * listShardBounds, listed as boundsAccess says. When the source is not listed from here
 * (credentials only the pod has) or cannot be, the manifests stay as they are: the Job's shards
 * then list the whole prefix and split it by hash.
 */
export async function withShardBounds(
  request: RestoreRequest,
  manifests: RestoreManifests,
  options: WithShardBoundsOptions,
): Promise<RestoreManifests> {
  if (!shardable(request) || request.shards) return manifests;
  const access = boundsAccess(request, options);
  if (!access) return manifests;
  const { signal, timeouts } = options;
  const bounds = await listShardBounds(
    request.source,
    request.options.parallelism,
    { ...access, signal, timeouts },
  ).catch(error => {
    // The caller gave up (or its deadline passed): so does the create. Anything else only costs
    // the bounds.
    if (signal?.aborted) throw error;
    return undefined;
  });
  if (!bounds) return manifests;
  return buildRestoreManifests({ ...request, shards: { bounds } }, options);
}

/**
 * The request without its shard bounds, to compare requests: the bounds come from a listing when
 * the restore is created, and the same request created again may list something else.
 */
export function withoutShards(request: RestoreRequest): RestoreRequest {
  const { shards: _shards, ...rest } = request;
  return rest;
}
