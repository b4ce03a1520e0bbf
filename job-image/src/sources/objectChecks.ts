/**
 * What a downloaded body is checked against, shared by the one-GET and the ranged paths: the
 * checks a response's headers name, which of them a hash worker computes from the file, and the
 * comparison that makes a difference CHECKSUM_MISMATCH.
 */
import {
  allChecksums,
  ExpectedChecksum,
  OFFLOAD_HASH_MIN_BYTES,
  workerAlgorithmOf,
} from '../checksums';
import { RestoreError } from '../errors';
import type { FileHasher, HashWorkerPool } from '../fileHasher';
import type { HttpResponse } from '../s3/access';
import { withPartSizes } from './parts';
import type { ObjectRef, RestoreContext } from './types';

/** Splits checks into those a worker hashes from the file and those hashed in line (the CRCs). */
export function splitChecks(
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
export function fileHasherFor(
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
export async function checksFor(
  ctx: RestoreContext,
  obj: ObjectRef,
  size: number,
  res: HttpResponse,
): Promise<ExpectedChecksum[]> {
  if (!ctx.request.options.verify) return [];
  return withPartSizes(ctx, obj, size, allChecksums(res.headers));
}

export function mismatch(key: string, what: string): RestoreError {
  return new RestoreError('CHECKSUM_MISMATCH', `"${key}": ${what}`, {
    entry: key,
  });
}

export function checkDigests(
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
