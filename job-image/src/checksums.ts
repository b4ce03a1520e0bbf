/**
 * Verification of object bodies: MD5 against single-part ETags, and S3's additional checksums
 * (CRC32, CRC32C, SHA-256, SHA-1) when the object carries a full-object value. All native except
 * CRC32C (a slicing-by-8 table; Node has no native CRC32C). CRC64NVME is not verified: no native
 * implementation exists in Node 20, and a JavaScript one is the 5x slowdown PERFORMANCE.md measured.
 */
import { createHash, Hash } from 'node:crypto';
import zlib from 'node:zlib';

export type ChecksumAlgorithm = 'MD5' | 'CRC32' | 'CRC32C' | 'SHA256' | 'SHA1';

/** What an object's body must hash to. `encoding` is how `expected` is written. */
export interface ExpectedChecksum {
  algorithm: ChecksumAlgorithm;
  expected: string;
  encoding: 'hex' | 'base64';
}

export interface Hasher {
  update(chunk: Buffer): void;
  /** Digest in the expected's encoding. */
  digest(): string;
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

const CRC32_TABLES = makeTables(0xedb88320);
const CRC32C_TABLES = makeTables(0x82f63b78);

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
  get raw(): number {
    return this.value >>> 0;
  }
}

/** CRC-32C (Castagnoli), slicing-by-8. */
export class Crc32c implements Hasher {
  private value = 0;
  update(chunk: Buffer): void {
    this.value = crcTable(chunk, this.value, CRC32C_TABLES);
  }
  digest(): string {
    return uint32Base64(this.value);
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
    return this.hash.digest(this.encoding);
  }
}

export function createHasher(expected: ExpectedChecksum): Hasher {
  switch (expected.algorithm) {
    case 'MD5':
      return new NodeHasher('md5', expected.encoding);
    case 'SHA256':
      return new NodeHasher('sha256', expected.encoding);
    case 'SHA1':
      return new NodeHasher('sha1', expected.encoding);
    case 'CRC32':
      return new Crc32();
    case 'CRC32C':
      return new Crc32c();
    default:
      throw new Error(`unsupported checksum ${String(expected.algorithm)}`);
  }
}

/** Node's name for an algorithm a hash worker computes (fileHasher.ts), or undefined for the CRCs. */
export function workerAlgorithmOf(
  algorithm: ChecksumAlgorithm,
): 'md5' | 'sha1' | 'sha256' | undefined {
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
  const bare = etag.replace(/^W\//, '').replace(/"/g, '').toLowerCase();
  return /^[0-9a-f]{32}$/.test(bare) ? bare : undefined;
}

/** Response header names of S3's additional checksums, strongest first. */
const HEADER_ALGORITHMS: Array<[string, ChecksumAlgorithm]> = [
  ['x-amz-checksum-sha256', 'SHA256'],
  ['x-amz-checksum-crc32c', 'CRC32C'],
  ['x-amz-checksum-crc32', 'CRC32'],
  ['x-amz-checksum-sha1', 'SHA1'],
];

/**
 * The checksums to verify a body against, from the GET's response headers: the strongest full-object
 * additional checksum (composite `...-N` values of multipart uploads cannot be checked from one
 * stream and are ignored), and the MD5 of a single-part ETag.
 */
export function expectedChecksums(
  headers: Record<string, string | string[] | undefined>,
): ExpectedChecksum[] {
  const get = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const out: ExpectedChecksum[] = [];
  const type = get('x-amz-checksum-type');
  if (type !== 'COMPOSITE') {
    for (const [header, algorithm] of HEADER_ALGORITHMS) {
      const value = get(header);
      if (value && /^[A-Za-z0-9+/]+=*$/.test(value)) {
        out.push({ algorithm, expected: value, encoding: 'base64' });
        break;
      }
    }
  }
  const md5 = md5FromEtag(get('etag'), {
    sse: get('x-amz-server-side-encryption'),
    sseCustomer:
      get('x-amz-server-side-encryption-customer-algorithm') !== undefined,
  });
  if (md5) out.push({ algorithm: 'MD5', expected: md5, encoding: 'hex' });
  return out;
}

/** A manifest-friendly label for what was verified: `md5:<hex>`, `crc32c:<base64>`, or `size`. */
export function checksumLabel(checks: ExpectedChecksum[]): string {
  const first = checks[0];
  return first ? `${first.algorithm.toLowerCase()}:${first.expected}` : 'size';
}

let offloadMinBytes = 8 * 1024 * 1024;

/**
 * Bodies at least this large have their MD5/SHA-* computed on a worker thread (fileHasher.ts);
 * smaller ones in line, where a worker costs more than it saves.
 */
export function offloadHashMinBytes(): number {
  return offloadMinBytes;
}

/** Benchmarks and tests: Infinity hashes everything in line. */
export function setOffloadHashMinBytes(bytes: number): void {
  offloadMinBytes = bytes;
}
