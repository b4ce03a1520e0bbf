/**
 * How the job will verify an object, told before it runs (the plan's `verification` counts): from
 * what a listing or HEAD says of the object, as the job's own choice (job-image/src/checksums.ts).
 */

/** The job's order of preference among S3's additional checksums (job-image/src/checksums.ts). */
export const CHECKSUM_PREFERENCE = [
  'SHA256',
  'CRC64NVME',
  'CRC32C',
  'CRC32',
  'SHA1',
];

/**
 * How the job will verify an object, from what a listing or HEAD says of it: its strongest
 * additional checksum (`CRC64NVME`, `CRC32C (composite)`...), else the MD5 of its ETag (`MD5`, or
 * `MD5 (multipart ETag)` for `<hex>-N`), else `size only` (e.g. an ETag that is not an MD5).
 */
export function verificationOf(object: {
  checksumAlgorithms?: string[];
  checksumType?: string;
  etag?: string;
  sse?: string;
}): string {
  const algorithm = CHECKSUM_PREFERENCE.find(a =>
    object.checksumAlgorithms?.includes(a),
  );
  if (algorithm)
    return object.checksumType === 'COMPOSITE'
      ? `${algorithm} (composite)`
      : algorithm;
  if (object.sse === 'aws:kms' || object.sse === 'aws:kms:dsse')
    return 'size only';
  const etag = (object.etag ?? '').replace(/^W\//, '').replace(/"/g, '');
  if (/^[0-9a-fA-F]{32}$/.test(etag)) return 'MD5';
  if (/^[0-9a-fA-F]{32}-\d+$/.test(etag)) return 'MD5 (multipart ETag)';
  return 'size only';
}
