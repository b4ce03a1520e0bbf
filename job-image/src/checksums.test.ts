import { createHash } from 'node:crypto';
import {
  allChecksums,
  checksumLabel,
  Crc32,
  Crc32c,
  createHasher,
  expectedChecksums,
  md5FromEtag,
  verificationKind,
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
  it('takes the strongest full-object checksum alone, else a single-part ETag MD5', () => {
    const md5 = createHash('md5').update('x').digest('hex');
    const checks = expectedChecksums({
      etag: `"${md5}"`,
      'x-amz-checksum-crc32c': 'yZRlqg==',
      'x-amz-checksum-crc32': 'AAAAAA==',
    });
    expect(checks).toEqual([
      { algorithm: 'CRC32C', expected: 'yZRlqg==', encoding: 'base64' },
    ]);
    expect(checksumLabel(checks)).toBe('crc32c:yZRlqg==');
    expect(expectedChecksums({ etag: `"${md5}"` })).toEqual([
      { algorithm: 'MD5', expected: md5, encoding: 'hex' },
    ]);
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

describe('composite checksums and multipart ETags', () => {
  const parts = [
    Buffer.from('a'.repeat(1000)),
    Buffer.from('bcd'),
    Buffer.alloc(0),
  ];
  const whole = Buffer.concat(parts);
  /** S3's composite: the checksum of the parts' checksums, `-N`. */
  const composite = (
    raw: (b: Buffer) => Buffer,
    encoding: 'hex' | 'base64',
    list = parts,
  ) => `${raw(Buffer.concat(list.map(raw))).toString(encoding)}-${list.length}`;
  const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();
  const md5raw = (b: Buffer) => createHash('md5').update(b).digest();
  const crc32c = (b: Buffer) => {
    const h = new Crc32c();
    h.update(b);
    return h.rawDigest();
  };

  it('reads composite values and multipart ETags with their part counts', () => {
    const md5 = composite(md5raw, 'hex');
    expect(
      allChecksums({
        etag: `"${md5}"`,
        'x-amz-checksum-crc32c': composite(crc32c, 'base64'),
        'x-amz-checksum-type': 'COMPOSITE',
      }),
    ).toEqual([
      {
        algorithm: 'CRC32C',
        expected: composite(crc32c, 'base64'),
        encoding: 'base64',
        parts: 3,
      },
      { algorithm: 'MD5', expected: md5, encoding: 'hex', parts: 3 },
    ]);
    // a full-object CRC64NVME of a multipart object needs no layout: the ETag is left out
    expect(
      allChecksums({
        etag: `"${md5}"`,
        'x-amz-checksum-crc64nvme': 'AAAAAAAAAAA=',
        'x-amz-checksum-type': 'FULL_OBJECT',
      }),
    ).toEqual([
      { algorithm: 'CRC64NVME', expected: 'AAAAAAAAAAA=', encoding: 'base64' },
    ]);
    // SSE-KMS multipart ETags are not MD5s
    expect(
      allChecksums({
        etag: `"${md5}"`,
        'x-amz-server-side-encryption': 'aws:kms',
      }),
    ).toEqual([]);
  });

  it('hashes each part then the list, however the chunks fall, and fails a wrong layout', () => {
    for (const [algorithm, raw, encoding] of [
      ['SHA256', sha256, 'base64'],
      ['CRC32C', crc32c, 'base64'],
      ['MD5', md5raw, 'hex'],
    ] as const) {
      const expected = composite(raw, encoding);
      for (const step of [1, 7, 1000, 5000]) {
        const h = createHasher({
          algorithm,
          expected,
          encoding,
          parts: 3,
          partSizes: parts.map(p => p.length),
        });
        for (let at = 0; at < whole.length; at += step)
          h.update(whole.subarray(at, at + step));
        expect(h.digest()).toBe(expected);
      }
      const wrong = createHasher({
        algorithm,
        expected,
        encoding,
        parts: 3,
        partSizes: [999, 4, 0],
      });
      wrong.update(whole);
      expect(wrong.digest()).not.toBe(expected);
      const short = createHasher({
        algorithm,
        expected,
        encoding,
        parts: 3,
        partSizes: [1000, 3, 1],
      });
      short.update(whole);
      expect(short.digest()).not.toBe(expected);
    }
    expect(() =>
      createHasher({
        algorithm: 'CRC32',
        expected: 'x-2',
        encoding: 'base64',
        parts: 2,
      }),
    ).toThrow(/part layout/);
  });

  it('says how an object was verified', () => {
    expect(verificationKind([])).toBe('size only');
    expect(
      verificationKind([
        { algorithm: 'CRC64NVME', expected: 'x', encoding: 'base64' },
      ]),
    ).toBe('CRC64NVME');
    expect(
      verificationKind([
        { algorithm: 'SHA1', expected: 'x-2', encoding: 'base64', parts: 2 },
      ]),
    ).toBe('SHA1 (composite)');
    expect(
      verificationKind([
        { algorithm: 'MD5', expected: 'x-2', encoding: 'hex', parts: 2 },
      ]),
    ).toBe('MD5 (multipart ETag)');
  });
});
