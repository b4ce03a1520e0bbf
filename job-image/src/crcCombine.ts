/**
 * The CRC of two byte runs joined, from the CRC of each and the second's length, for the reflected
 * CRCs S3 uses (CRC-32, CRC-32C, CRC-64/NVME: register and final XOR all ones). A large object read
 * in ranged parts is checked this way: each part is hashed as it arrives, in whatever order the
 * parts end, and the parts' values are joined at the end, instead of reading the file back.
 *
 * The method is zlib's crc32_combine, generalised to 64 bits: shifting the first CRC by the second
 * run's length is a multiplication by x^(8 * length) modulo the polynomial, done by repeated
 * squaring (a few dozen multiplications per join, whatever the length).
 */
import { ChecksumAlgorithm, CRC32_POLY } from './checksums';
import { CRC32C_POLY, CRC64NVME_POLY } from './crc64/crc64Wat';

/** The CRCs that combine: their width and reflected polynomial. */
const COMBINABLE: Partial<
  Record<ChecksumAlgorithm, { width: number; poly: bigint }>
> = {
  CRC32: { width: 32, poly: BigInt(CRC32_POLY) },
  CRC32C: { width: 32, poly: CRC32C_POLY },
  CRC64NVME: { width: 64, poly: CRC64NVME_POLY },
};

/** Can `algorithm`'s values be joined (combineCrc)? */
export function isCombinable(algorithm: ChecksumAlgorithm): boolean {
  return COMBINABLE[algorithm] !== undefined;
}

class Field {
  /** x^(2^k) modulo the polynomial, for k = 0..63 (lengths up to 2^61 bytes). */
  private readonly powers: bigint[] = [];
  private readonly top: bigint;

  constructor(
    readonly width: number,
    private readonly poly: bigint,
  ) {
    // Reflected: the register's top bit is x^0, the next one x^1.
    this.top = 1n << BigInt(width - 1);
    let p = this.top >> 1n;
    for (let k = 0; k < 64; k++) {
      this.powers.push(p);
      p = this.multiply(p, p);
    }
  }

  /** a * b modulo the polynomial. */
  multiply(a: bigint, b: bigint): bigint {
    let product = 0n;
    let m = this.top;
    let bb = b;
    while (m > 0n) {
      if (a & m) product ^= bb;
      m >>= 1n;
      bb = bb & 1n ? (bb >> 1n) ^ this.poly : bb >> 1n;
    }
    return product;
  }

  /** x^(8 * bytes) modulo the polynomial. */
  shiftOf(bytes: number): bigint {
    let result = this.top;
    let n = BigInt(bytes);
    for (let k = 3; n > 0n; k++, n >>= 1n)
      if (n & 1n) result = this.multiply(this.powers[k], result);
    return result;
  }
}

const fields = new Map<ChecksumAlgorithm, Field>();

function fieldOf(algorithm: ChecksumAlgorithm): Field {
  let field = fields.get(algorithm);
  if (!field) {
    const spec = COMBINABLE[algorithm];
    if (!spec) throw new Error(`${algorithm} values cannot be combined`);
    field = new Field(spec.width, spec.poly);
    fields.set(algorithm, field);
  }
  return field;
}

/**
 * The CRC of A followed by B, from `first` (A's) and `second` (B's), both as S3 writes them: the
 * final value's bytes, big-endian; `secondBytes` is B's length.
 */
export function combineCrc(
  algorithm: ChecksumAlgorithm,
  first: Buffer,
  second: Buffer,
  secondBytes: number,
): Buffer {
  const field = fieldOf(algorithm);
  const bytes = field.width / 8;
  if (first.length !== bytes || second.length !== bytes)
    throw new Error(`a ${algorithm} value has ${bytes} bytes`);
  const a = BigInt(`0x${first.toString('hex')}`);
  const b = BigInt(`0x${second.toString('hex')}`);
  const joined = field.multiply(field.shiftOf(secondBytes), a) ^ b;
  return Buffer.from(joined.toString(16).padStart(bytes * 2, '0'), 'hex');
}
