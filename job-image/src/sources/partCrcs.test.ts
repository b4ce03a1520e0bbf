import { randomBytes } from 'node:crypto';
import { createHasher, ExpectedChecksum } from '../checksums';
import { PartCrcs } from './partCrcs';

const crc64Of = (data: Buffer): ExpectedChecksum => {
  const check: ExpectedChecksum = {
    algorithm: 'CRC64NVME',
    expected: '',
    encoding: 'base64',
  };
  const h = createHasher(check);
  h.update(data);
  return { ...check, expected: h.digest() };
};

describe('PartCrcs', () => {
  const data = randomBytes(100_000);
  const parts: Array<[number, number]> = [
    [0, 39_999],
    [40_000, 79_999],
    [80_000, 99_999],
  ];

  it('takes full-object CRCs only', () => {
    const md5: ExpectedChecksum = {
      algorithm: 'MD5',
      expected: 'x',
      encoding: 'hex',
    };
    const composite: ExpectedChecksum = {
      algorithm: 'CRC32C',
      expected: 'x-3',
      encoding: 'base64',
      parts: 3,
    };
    expect(PartCrcs.for([md5, composite], parts)).toBeUndefined();
    expect(PartCrcs.for([crc64Of(data), md5], parts)?.checks).toHaveLength(1);
  });

  it('joins parts hashed in any order, in chunks, a retried part counted from its restart', () => {
    const check = crc64Of(data);
    const crcs = PartCrcs.for([check], parts)!;
    const feed = (index: number, chunk = 7_000) => {
      const [first, last] = parts[index];
      const hash = crcs.start(index);
      for (let at = first; at <= last; at += chunk)
        hash.update(data.subarray(at, Math.min(last + 1, at + chunk)));
      return hash;
    };
    feed(2).finish();
    // an attempt that failed half-way: hashed, never finished
    const failed = crcs.start(0);
    failed.update(Buffer.from('garbage'));
    feed(1, 65_536).finish();
    feed(0).finish();
    expect(crcs.digests()).toEqual([check.expected]);
  });

  it('differs when a byte of a part differs, and says which part was never hashed', () => {
    const check = crc64Of(data);
    const crcs = PartCrcs.for([check], parts)!;
    const bad = Buffer.from(data);
    bad[50_000] ^= 1;
    for (const [i, [first, last]] of parts.entries()) {
      const hash = crcs.start(i);
      hash.update(bad.subarray(first, last + 1));
      hash.finish();
    }
    expect(crcs.digests()).not.toEqual([check.expected]);
    const missing = PartCrcs.for([check], parts)!;
    missing.start(0).finish();
    expect(() => missing.digests()).toThrow('part 40000-79999 was not hashed');
  });
});
