/**
 * The full-object CRCs (CRC-64/NVME, CRC-32C, CRC-32) of an object fetched in ranged parts, hashed
 * part by part as the bytes arrive and joined in order at the end (crcCombine.ts): the parts end
 * in any order, and no byte is read back from the file. A retried part starts its hash over.
 */
import { createHasher, ExpectedChecksum, Hasher } from '../checksums';
import { combineCrc, isCombinable } from '../crcCombine';

/** The hash of one attempt at one part. */
export interface PartHash {
  update(chunk: Buffer): void;
  /** The part ended whole: its values count. */
  finish(): void;
}

export class PartCrcs {
  /** Per part, the raw value of each check once the part ended whole. */
  private readonly values: Buffer[][];

  private constructor(
    readonly checks: ExpectedChecksum[],
    private readonly parts: ReadonlyArray<readonly [number, number]>,
  ) {
    this.values = parts.map(() => []);
  }

  /** For the full-object CRCs among `checks`, or undefined when there is none. */
  static for(
    checks: ExpectedChecksum[],
    parts: ReadonlyArray<readonly [number, number]>,
  ): PartCrcs | undefined {
    const crcs = checks.filter(
      c => c.parts === undefined && isCombinable(c.algorithm),
    );
    return crcs.length > 0 ? new PartCrcs(crcs, parts) : undefined;
  }

  /** A fresh hash of part `index` (inclusive byte range `parts[index]`). */
  start(index: number): PartHash {
    const hashers: Hasher[] = this.checks.map(createHasher);
    return {
      update: chunk => {
        for (const h of hashers) h.update(chunk);
      },
      finish: () => {
        this.values[index] = hashers.map(h =>
          Buffer.from(h.digest(), 'base64'),
        );
      },
    };
  }

  /** Each check's digest over every part, in the checks' encoding (base64). */
  digests(): string[] {
    return this.checks.map((check, c) => {
      let joined: Buffer | undefined;
      this.parts.forEach(([first, last], p) => {
        const value = this.values[p][c];
        if (!value) throw new Error(`part ${first}-${last} was not hashed`);
        joined = joined
          ? combineCrc(check.algorithm, joined, value, last - first + 1)
          : value;
      });
      return joined ? joined.toString('base64') : emptyDigest(check);
    });
  }
}

/** The digest of no bytes (an object of no parts). */
function emptyDigest(check: ExpectedChecksum): string {
  return createHasher(check).digest();
}
