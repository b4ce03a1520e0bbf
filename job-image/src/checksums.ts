/**
 * Verification of object bodies: MD5 against ETags, and S3's additional checksums (CRC64NVME, CRC32,
 * CRC32C, SHA-256, SHA-1), full-object or composite. A composite value (`<base64>-N`, multipart
 * uploads) is the checksum of the N parts' checksums, and a multipart ETag (`<hex>-N`) the MD5 of
 * the parts' MD5s: both need the part layout (parts.ts), then hash each part and the list.
 * Native where Node has it (MD5, SHA-*, CRC32 through zlib); CRC64NVME and CRC32C in the job's
 * native addon, or in WebAssembly without it (crc64/crc64.ts).
 */
import { createHash, Hash } from 'node:crypto';
import zlib from 'node:zlib';
import { Crc32c, Crc64Nvme } from './crc64/crc64';

export { Crc32c };

export type ChecksumAlgorithm =
  'MD5' | 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA256' | 'SHA1';

/** What an object's body must hash to. `encoding` is how `expected` is written. */
export interface ExpectedChecksum {
  algorithm: ChecksumAlgorithm;
  /** The value as S3 gives it: for a composite one with its `-N` suffix. */
  expected: string;
  encoding: 'hex' | 'base64';
  /** Composite: the number of parts (N). */
  parts?: number;
  /** Composite: the size of each part, once known (parts.ts); needed to hash it. */
  partSizes?: number[];
}

export interface Hasher {
  update(chunk: Buffer): void;
  /** Digest in the expected's encoding (a composite one with its `-N`). */
  digest(): string;
}

/** A hasher of one algorithm that also gives its digest's bytes (for composites). */
interface RawHasher extends Hasher {
  rawDigest(): Buffer;
}

const zlibCrc32 = (
  zlib as unknown as { crc32?: (data: Buffer, value?: number) => number }
).crc32;

function uint32Base64(value: number): string {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b.toString('base64');
}

function makeTables(poly: number): Int32Array[] {
  const tables = Array.from({ length: 8 }, () => new Int32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    tables[0][n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[0][n];
    for (let t = 1; t < 8; t++) {
      c = tables[0][c & 0xff] ^ (c >>> 8);
      tables[t][n] = c;
    }
  }
  return tables;
}

/** CRC-32 (IEEE)'s polynomial, reflected. */
export const CRC32_POLY = 0xedb88320;

const CRC32_TABLES = makeTables(CRC32_POLY);

/** CRC-32 (IEEE), native through zlib.crc32 (Node >= 20.15) with a table fallback. */
export class Crc32 implements Hasher {
  private value = 0;
  update(chunk: Buffer): void {
    this.value = zlibCrc32
      ? zlibCrc32(chunk, this.value)
      : crcTable(chunk, this.value, CRC32_TABLES);
  }
  digest(): string {
    return uint32Base64(this.value);
  }
  rawDigest(): Buffer {
    return Buffer.from(this.digest(), 'base64');
  }
  get raw(): number {
    return this.value >>> 0;
  }
}

function crcTable(
  buf: Uint8Array,
  previous: number,
  tables: Int32Array[],
): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = tables;
  let crc = ~previous;
  let i = 0;
  const n = buf.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    const a =
      (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24)) ^
      crc;
    crc =
      t7[a & 0xff] ^
      t6[(a >>> 8) & 0xff] ^
      t5[(a >>> 16) & 0xff] ^
      t4[a >>> 24] ^
      t3[buf[i + 4]] ^
      t2[buf[i + 5]] ^
      t1[buf[i + 6]] ^
      t0[buf[i + 7]];
    i += 8;
  }
  while (i < n) crc = t0[(crc ^ buf[i++]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

class NodeHasher implements Hasher {
  private readonly hash: Hash;
  constructor(
    algorithm: string,
    private readonly encoding: 'hex' | 'base64',
  ) {
    this.hash = createHash(algorithm);
  }
  update(chunk: Buffer): void {
    this.hash.update(chunk);
  }
  digest(): string {
    return this.rawDigest().toString(this.encoding);
  }
  rawDigest(): Buffer {
    return this.hash.digest();
  }
}

function plainHasher(
  algorithm: ChecksumAlgorithm,
  encoding: 'hex' | 'base64',
): RawHasher {
  switch (algorithm) {
    case 'MD5':
      return new NodeHasher('md5', encoding);
    case 'SHA256':
      return new NodeHasher('sha256', encoding);
    case 'SHA1':
      return new NodeHasher('sha1', encoding);
    case 'CRC32':
      return new Crc32();
    case 'CRC32C':
      return new Crc32c();
    case 'CRC64NVME':
      return new Crc64Nvme();
    default:
      throw new Error(`unsupported checksum ${String(algorithm)}`);
  }
}

/**
 * A composite checksum: each part hashed on its own (the bytes are cut at the part sizes, whatever
 * the chunks), then the parts' digests hashed together, written `<digest>-N`.
 */
class CompositeHasher implements Hasher {
  private readonly digests: Buffer[] = [];
  private part: RawHasher;
  private index = 0;
  private left: number;
  private overflow = 0;

  constructor(
    private readonly algorithm: ChecksumAlgorithm,
    private readonly encoding: 'hex' | 'base64',
    private readonly sizes: number[],
  ) {
    this.part = plainHasher(algorithm, encoding);
    this.left = sizes[0] ?? 0;
  }

  update(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.index >= this.sizes.length) {
        // more bytes than the layout says: the digest cannot match
        this.overflow += chunk.length - at;
        return;
      }
      const take = Math.min(this.left, chunk.length - at);
      if (take > 0) this.part.update(chunk.subarray(at, at + take));
      at += take;
      this.left -= take;
      if (this.left === 0) this.nextPart();
    }
  }

  private nextPart(): void {
    this.digests.push(this.part.rawDigest());
    this.index++;
    this.part = plainHasher(this.algorithm, this.encoding);
    this.left = this.sizes[this.index] ?? 0;
    // an empty last part (a zero-byte object's one part) is closed at once
    if (this.index < this.sizes.length && this.left === 0) this.nextPart();
  }

  digest(): string {
    if (this.overflow > 0 || this.index < this.sizes.length)
      return `(the bytes do not fill the ${this.sizes.length} parts)`;
    const outer = plainHasher(this.algorithm, this.encoding);
    outer.update(Buffer.concat(this.digests));
    return `${outer.digest()}-${this.sizes.length}`;
  }
}

export function createHasher(expected: ExpectedChecksum): Hasher {
  if (expected.parts !== undefined) {
    if (!expected.partSizes || expected.partSizes.length !== expected.parts)
      throw new Error(
        `the part layout of a composite ${expected.algorithm} is not known`,
      );
    return new CompositeHasher(
      expected.algorithm,
      expected.encoding,
      expected.partSizes,
    );
  }
  return plainHasher(expected.algorithm, expected.encoding);
}

/**
 * Node's name for an algorithm a hash worker computes (fileHasher.ts), or undefined for the CRCs
 * and composites (hashed in line).
 */
export function workerAlgorithmOf(
  check: ChecksumAlgorithm | ExpectedChecksum,
): 'md5' | 'sha1' | 'sha256' | undefined {
  if (typeof check !== 'string' && check.parts !== undefined) return undefined;
  const algorithm = typeof check === 'string' ? check : check.algorithm;
  switch (algorithm) {
    case 'MD5':
      return 'md5';
    case 'SHA1':
      return 'sha1';
    case 'SHA256':
      return 'sha256';
    default:
      return undefined;
  }
}

/** The MD5 an ETag stands for, when it is a plain single-part ETag; undefined otherwise. */
export function md5FromEtag(
  etag: string | undefined,
  headers: { sse?: string; sseCustomer?: boolean } = {},
): string | undefined {
  if (!etag) return undefined;
  // SSE-KMS and SSE-C ETags are not the MD5 of the plaintext.
  if (
    headers.sse === 'aws:kms' ||
    headers.sse === 'aws:kms:dsse' ||
    headers.sseCustomer
  )
    return undefined;
  const bare = bareEtag(etag);
  return /^[0-9a-f]{32}$/.test(bare) ? bare : undefined;
}

/** An ETag as servers may spell it differently: without a weak one's W/, quotes or upper case. */
export function bareEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/"/g, '').toLowerCase();
}

/** Response header names of S3's additional checksums, strongest first. */
const HEADER_ALGORITHMS: Array<[string, ChecksumAlgorithm]> = [
  ['x-amz-checksum-sha256', 'SHA256'],
  ['x-amz-checksum-crc64nvme', 'CRC64NVME'],
  ['x-amz-checksum-crc32c', 'CRC32C'],
  ['x-amz-checksum-crc32', 'CRC32'],
  ['x-amz-checksum-sha1', 'SHA1'],
];

type Headers = Record<string, string | string[] | undefined>;

function headerOf(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function sseOf(headers: Headers) {
  return {
    sse: headerOf(headers, 'x-amz-server-side-encryption'),
    sseCustomer:
      headerOf(headers, 'x-amz-server-side-encryption-customer-algorithm') !==
      undefined,
  };
}

/** The strongest additional checksum of the headers, full-object or composite. */
function additionalChecksum(headers: Headers): ExpectedChecksum | undefined {
  for (const [header, algorithm] of HEADER_ALGORITHMS) {
    const value = headerOf(headers, header);
    if (!value) continue;
    const full = /^[A-Za-z0-9+/]+=*$/.test(value);
    const composite = /^[A-Za-z0-9+/]+=*-(\d+)$/.exec(value);
    if (full && headerOf(headers, 'x-amz-checksum-type') !== 'COMPOSITE')
      return { algorithm, expected: value, encoding: 'base64' };
    if (composite && Number(composite[1]) >= 1)
      return {
        algorithm,
        expected: value,
        encoding: 'base64',
        parts: Number(composite[1]),
      };
  }
  return undefined;
}

/** The MD5 of a multipart ETag (`<hex>-N`, not SSE-KMS or SSE-C) as a composite check. */
function multipartEtag(headers: Headers): ExpectedChecksum | undefined {
  const etag = headerOf(headers, 'etag');
  const { sse, sseCustomer } = sseOf(headers);
  if (!etag || sse === 'aws:kms' || sse === 'aws:kms:dsse' || sseCustomer)
    return undefined;
  const m = /^([0-9a-f]{32})-(\d+)$/.exec(bareEtag(etag));
  if (!m || Number(m[2]) < 1) return undefined;
  return {
    algorithm: 'MD5',
    expected: `${m[1]}-${m[2]}`,
    encoding: 'hex',
    parts: Number(m[2]),
  };
}

/**
 * The checksums to verify a body against, from the GET's response headers: the strongest
 * full-object additional checksum, or without one the MD5 of a single-part ETag. Composite values
 * (multipart uploads) need the part layout: see `allChecksums`.
 */
export function expectedChecksums(headers: Headers): ExpectedChecksum[] {
  return allChecksums(headers).filter(c => c.parts === undefined);
}

/**
 * Every check the headers call for: a full-object additional checksum alone, as the AWS SDKs check
 * a body (it covers every byte as the ETag's MD5 does, and S3 adds a CRC64NVME to every new
 * object: hashing the body a second time for the MD5 would only cost CPU). Otherwise the strongest
 * composite one (with `parts`), then the ETag's MD5 (single-part, or a multipart ETag as a
 * composite MD5: one layout serves both).
 */
export function allChecksums(headers: Headers): ExpectedChecksum[] {
  const out: ExpectedChecksum[] = [];
  const additional = additionalChecksum(headers);
  if (additional && additional.parts === undefined) return [additional];
  if (additional) out.push(additional);
  const md5 = md5FromEtag(headerOf(headers, 'etag'), sseOf(headers));
  if (md5) out.push({ algorithm: 'MD5', expected: md5, encoding: 'hex' });
  else if (!additional || additional.parts !== undefined) {
    const etag = multipartEtag(headers);
    if (etag) out.push(etag);
  }
  return out;
}

/**
 * How an object was verified, for the manifest: `<algorithm>:<value>` of the first check
 * (`crc64nvme:<base64>`, `crc32c:<base64>-3` for a composite, `md5:<hex>`), or `size`.
 */
export function checksumLabel(checks: ExpectedChecksum[]): string {
  const first = checks[0];
  return first ? `${first.algorithm.toLowerCase()}:${first.expected}` : 'size';
}

/** The kind of verification, for the summary: `CRC64NVME`, `CRC32C (composite)`, `MD5`, `size only`. */
export function verificationKind(checks: ExpectedChecksum[]): string {
  const first = checks[0];
  if (!first) return 'size only';
  if (first.parts === undefined) return first.algorithm;
  return first.algorithm === 'MD5'
    ? 'MD5 (multipart ETag)'
    : `${first.algorithm} (composite)`;
}

/**
 * Bodies at least this large have their MD5/SHA-* computed on a worker thread (fileHasher.ts);
 * smaller ones in line, where a worker costs more than it saves.
 */
export const OFFLOAD_HASH_MIN_BYTES = 8 * 1024 * 1024;
