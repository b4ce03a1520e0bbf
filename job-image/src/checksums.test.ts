import { createHash } from 'node:crypto';
import {
  checksumLabel,
  Crc32,
  Crc32c,
  createHasher,
  expectedChecksums,
  md5FromEtag,
} from './checksums';

const check = Buffer.from('123456789');

describe('CRCs', () => {
  it('matches the standard check values', () => {
    const c32 = new Crc32();
    c32.update(check);
    expect(c32.raw).toBe(0xcbf43926);
    const c32c = new Crc32c();
    c32c.update(check);
    expect(c32c.raw).toBe(0xe3069283);
  });

  it('gives the same CRC32C in pieces as in one go, in S3 base64', () => {
    const data = Buffer.from(
      Array.from({ length: 100_003 }, (_, i) => (i * 31) % 251),
    );
    const whole = new Crc32c();
    whole.update(data);
    const pieces = new Crc32c();
    for (let i = 0; i < data.length; i += 7777)
      pieces.update(data.subarray(i, i + 7777));
    expect(pieces.digest()).toBe(whole.digest());
    expect(Buffer.from(whole.digest(), 'base64').readUInt32BE(0)).toBe(
      whole.raw,
    );
  });
});

describe('expectedChecksums', () => {
  it('takes the strongest full-object checksum and a single-part ETag MD5', () => {
    const md5 = createHash('md5').update('x').digest('hex');
    const checks = expectedChecksums({
      etag: `"${md5}"`,
      'x-amz-checksum-crc32c': 'yZRlqg==',
      'x-amz-checksum-crc32': 'AAAAAA==',
    });
    expect(checks).toEqual([
      { algorithm: 'CRC32C', expected: 'yZRlqg==', encoding: 'base64' },
      { algorithm: 'MD5', expected: md5, encoding: 'hex' },
    ]);
    expect(checksumLabel(checks)).toBe('crc32c:yZRlqg==');
  });

  it('ignores composite checksums and multipart or SSE-KMS ETags', () => {
    expect(
      expectedChecksums({
        etag: '"0123456789abcdef0123456789abcdef-3"',
        'x-amz-checksum-crc32': 'AAAAAA==-3',
        'x-amz-checksum-type': 'COMPOSITE',
      }),
    ).toEqual([]);
    expect(
      md5FromEtag('"0123456789abcdef0123456789abcdef"', { sse: 'aws:kms' }),
    ).toBeUndefined();
    expect(checksumLabel([])).toBe('size');
  });

  it('hashers produce what S3 would send', () => {
    const h = createHasher({
      algorithm: 'SHA256',
      expected: '',
      encoding: 'base64',
    });
    h.update(Buffer.from('abc'));
    expect(h.digest()).toBe(
      createHash('sha256').update('abc').digest('base64'),
    );
  });
});
