import { randomBytes } from 'node:crypto';
import { ChecksumAlgorithm, createHasher } from './checksums';
import { combineCrc, isCombinable } from './crcCombine';

const crcOf = (algorithm: ChecksumAlgorithm, data: Buffer): Buffer => {
  const h = createHasher({ algorithm, expected: '', encoding: 'base64' });
  h.update(data);
  return Buffer.from(h.digest(), 'base64');
};

describe('combineCrc', () => {
  const algorithms: ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME'];

  it.each(algorithms)(
    'joins the %s of parts into the whole one, whatever the cuts',
    algorithm => {
      const data = randomBytes(300_000);
      const whole = crcOf(algorithm, data);
      for (const cuts of [
        [0],
        [1],
        [299_999],
        [300_000],
        [7, 8, 9, 100_000, 250_001],
        [65_536, 131_072, 196_608, 262_144],
      ]) {
        const bounds = [0, ...cuts, data.length];
        let joined = crcOf(algorithm, Buffer.alloc(0));
        for (let i = 1; i < bounds.length; i++) {
          const part = data.subarray(bounds[i - 1], bounds[i]);
          joined = combineCrc(
            algorithm,
            joined,
            crcOf(algorithm, part),
            part.length,
          );
        }
        expect(joined.toString('base64')).toBe(whole.toString('base64'));
      }
    },
  );

  it('shifts by lengths past 4 GiB', () => {
    // The CRC of 2^33 zero bytes, by doubling a MiB of zeros 13 times: joining it after "a" in one
    // step must equal joining 2^33 - 1 zeros and then one more (powers past 2^32 are used).
    const zeros = (n: number) => crcOf('CRC64NVME', Buffer.alloc(n));
    let run = zeros(2 ** 20);
    for (let bytes = 2 ** 20; bytes < 2 ** 33; bytes *= 2)
      run = combineCrc('CRC64NVME', run, run, bytes);
    const a = crcOf('CRC64NVME', Buffer.from('a'));
    const oneStep = combineCrc('CRC64NVME', a, run, 2 ** 33);
    // 2^33 - 1 zeros: the run without its last byte is not at hand, so go the other way round:
    // "a" + 2^33 zeros + 1 zero, against "a" + 1 zero + 2^33 zeros (zeros commute)
    const oneMore = combineCrc('CRC64NVME', oneStep, zeros(1), 1);
    const firstOne = combineCrc(
      'CRC64NVME',
      combineCrc('CRC64NVME', a, zeros(1), 1),
      run,
      2 ** 33,
    );
    expect(oneMore.toString('hex')).toBe(firstOne.toString('hex'));
    expect(oneStep.toString('hex')).not.toBe(a.toString('hex'));
  });

  it('refuses what does not combine and values of the wrong size', () => {
    expect(isCombinable('MD5')).toBe(false);
    expect(isCombinable('SHA256')).toBe(false);
    expect(isCombinable('CRC64NVME')).toBe(true);
    expect(() =>
      combineCrc('MD5', Buffer.alloc(16), Buffer.alloc(16), 1),
    ).toThrow('MD5 values cannot be combined');
    expect(() =>
      combineCrc('CRC32', Buffer.alloc(8), Buffer.alloc(4), 1),
    ).toThrow('a CRC32 value has 4 bytes');
  });
});
