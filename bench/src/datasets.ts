/**
 * The benchmark's datasets, generated reproducibly from a seed: the same seed gives the same keys
 * and the same bytes on every machine. Content is AES-128-CTR keystream (incompressible, fast to
 * produce with native crypto) keyed by a hash of the seed and the object's name; the compressible
 * part of the tar.gz tree is text drawn from a seeded PRNG.
 */
import { createCipheriv, createHash } from 'node:crypto';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Bumped whenever a generator changes, so that cached seeded data is not reused. */
export const DATASET_VERSION = 2;

export type DatasetId = 'large' | 'small' | 'targz' | 'listing';

export interface DatasetSizes {
  /** (a) large objects */
  largeCount: number;
  largeSize: number;
  /** (b) small objects under nested prefixes */
  smallCount: number;
  smallSize: number;
  /** (c) the tar.gz tree: incompressible bytes in big files, plus compressible small text files */
  tarBigFiles: number;
  tarBigSize: number;
  tarSmallFiles: number;
  tarSmallSize: number;
  /** (d) keys of the listing-only bucket */
  listingKeys: number;
}

export const FULL: DatasetSizes = {
  largeCount: 8,
  largeSize: 256 * MiB,
  smallCount: 20_000,
  smallSize: 4 * 1024,
  tarBigFiles: 7,
  tarBigSize: 128 * MiB,
  tarSmallFiles: 20_000,
  tarSmallSize: 8 * 1024,
  listingKeys: 1_000_000,
};

export const QUICK: DatasetSizes = {
  largeCount: 4,
  largeSize: 64 * MiB,
  smallCount: 2_000,
  smallSize: 4 * 1024,
  tarBigFiles: 2,
  tarBigSize: 64 * MiB,
  tarSmallFiles: 2_000,
  tarSmallSize: 8 * 1024,
  listingKeys: 50_000,
};

/** A small, fast, seedable PRNG (splitmix32 over a 32-bit state): deterministic across platforms. */
export class Rng {
  private state: number;
  constructor(seed: number | string) {
    this.state =
      typeof seed === 'number'
        ? seed >>> 0
        : createHash('sha256').update(seed).digest().readUInt32LE(0);
  }
  /** A uniform 32-bit unsigned integer. */
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return this.next() % n;
  }
}

/** The incompressible bytes of object `name` under `seed`: `size` bytes of AES-CTR keystream. */
export function* contentChunks(
  seed: number,
  name: string,
  size: number,
  chunkSize = 4 * MiB,
): Generator<Buffer> {
  const key = createHash('sha256').update(`${seed}\0${name}`).digest();
  const cipher = createCipheriv(
    'aes-128-ctr',
    key.subarray(0, 16),
    key.subarray(16, 32),
  );
  const zeros = Buffer.alloc(Math.min(chunkSize, Math.max(size, 1)));
  for (let done = 0; done < size;) {
    const n = Math.min(zeros.length, size - done);
    yield cipher.update(zeros.subarray(0, n));
    done += n;
  }
}

export function content(seed: number, name: string, size: number): Buffer {
  return Buffer.concat([...contentChunks(seed, name, size)]);
}

const WORDS = [
  'restore',
  'volume',
  'object',
  'bucket',
  'prefix',
  'archive',
  'claim',
  'pod',
  'job',
  'node',
  'checksum',
  'stream',
  'manifest',
  'verify',
  'rename',
  'temporary',
  'kernel',
  'page',
  'cache',
  'socket',
  'buffer',
  'signal',
  'retry',
  'backoff',
  'tar',
  'gzip',
  'entry',
  'directory',
  'file',
];

/** Compressible text (words from a seeded PRNG), exactly `size` bytes. */
export function textContent(seed: number, name: string, size: number): Buffer {
  const rng = new Rng(`${seed}\0${name}`);
  const out = Buffer.alloc(size);
  let at = 0;
  while (at < size) {
    const word = WORDS[rng.below(WORDS.length)];
    const sep = rng.below(12) === 0 ? '\n' : ' ';
    at += out.write(word + sep, at);
  }
  return out;
}

/** A nested relative path for item `i` of `count`: up to three directory levels, e.g. `d07/e3/f1/obj-000123`. */
export function nestedName(rng: Rng, i: number): string {
  const depth = 1 + rng.below(3);
  const parts: string[] = [];
  for (let level = 0; level < depth; level++) {
    parts.push(
      `${'def'[level]}${String(rng.below(level === 0 ? 16 : 8)).padStart(2, '0')}`,
    );
  }
  parts.push(`obj-${String(i).padStart(7, '0')}`);
  return parts.join('/');
}

export interface PlannedObject {
  /** Relative name under the dataset's prefix (or inside the tar). */
  name: string;
  size: number;
  /** `random`: AES keystream; `text`: compressible words. */
  kind: 'random' | 'text';
}

/** (a) `largeCount` objects of `largeSize` bytes. */
export function largeObjects(sizes: DatasetSizes): PlannedObject[] {
  return Array.from({ length: sizes.largeCount }, (_, i) => ({
    name: `part-${String(i).padStart(3, '0')}.bin`,
    size: sizes.largeSize,
    kind: 'random' as const,
  }));
}

/** (b) `smallCount` objects of `smallSize` bytes under nested prefixes. */
export function smallObjects(
  seed: number,
  sizes: DatasetSizes,
): PlannedObject[] {
  const rng = new Rng(seed ^ 0x5eed);
  return Array.from({ length: sizes.smallCount }, (_, i) => ({
    name: nestedName(rng, i),
    size: sizes.smallSize,
    kind: 'random' as const,
  }));
}

/** (c) the tree inside the tar.gz: big incompressible files and many small text files. */
export function tarTree(seed: number, sizes: DatasetSizes): PlannedObject[] {
  const rng = new Rng(seed ^ 0x7a2);
  const big = Array.from({ length: sizes.tarBigFiles }, (_, i) => ({
    name: `blobs/blob-${String(i).padStart(2, '0')}.bin`,
    size: sizes.tarBigSize,
    kind: 'random' as const,
  }));
  const small = Array.from({ length: sizes.tarSmallFiles }, (_, i) => ({
    name: `tree/${nestedName(rng, i)}.txt`,
    // 1 byte to 2x the nominal size, so file sizes vary
    size: 1 + rng.below(2 * sizes.tarSmallSize),
    kind: 'text' as const,
  }));
  return [...big, ...small];
}

/** (d) keys of the listing bucket (zero-byte objects), in a nested layout. */
export function listingKeys(seed: number, sizes: DatasetSizes): string[] {
  const rng = new Rng(seed ^ 0x11);
  return Array.from({ length: sizes.listingKeys }, (_, i) =>
    nestedName(rng, i),
  );
}

/** The bytes of a planned object. */
export function* plannedChunks(
  seed: number,
  o: PlannedObject,
): Generator<Buffer> {
  if (o.kind === 'text') yield textContent(seed, o.name, o.size);
  else yield* contentChunks(seed, o.name, o.size);
}

/** A key naming the seeded data, for the cache: changes with the seed, sizes, generator and server. */
export function cacheKey(
  seed: number,
  sizes: DatasetSizes,
  serverVersion: string,
): string {
  const h = createHash('sha256')
    .update(JSON.stringify({ seed, sizes, v: DATASET_VERSION, serverVersion }))
    .digest('hex')
    .slice(0, 12);
  return `seed${seed}-v${DATASET_VERSION}-${h}`;
}
