/** Kubernetes resource quantities (`10Gi`, `1.5Ti`, `500M`, `1e9`) as byte counts. */

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const QUANTITY =
  /^([+]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

export class QuantityError extends Error {
  constructor(value: string, why: string) {
    super(`invalid quantity "${value}": ${why}`);
    this.name = 'QuantityError';
  }
}

/**
 * Parses a quantity into whole bytes, rounding a fraction up as Kubernetes does.
 * Throws QuantityError naming the value; milli-units (`m`) and negative sizes are refused.
 */
export function parseQuantity(value: string): number {
  const text = value.trim();
  const match = QUANTITY.exec(text);
  if (!match) {
    throw new QuantityError(
      value,
      'expected a number with an optional suffix such as 512Mi, 10Gi, 1.5Ti or 100G',
    );
  }
  const [, number, suffix = ''] = match;
  let multiplier: number;
  if (suffix in BINARY) multiplier = BINARY[suffix];
  else if (suffix in DECIMAL) multiplier = DECIMAL[suffix];
  else multiplier = 10 ** Number(suffix.slice(1));
  const bytes = Math.ceil(Number(number) * multiplier);
  if (!Number.isSafeInteger(bytes)) throw new QuantityError(value, 'too large');
  return bytes;
}

export function isQuantity(value: string): boolean {
  try {
    parseQuantity(value);
    return true;
  } catch {
    return false;
  }
}

/** Bytes rounded up to whole GiB, as a quantity string (`1Gi` at the least). */
export function bytesToGiQuantity(bytes: number): string {
  return `${Math.max(1, Math.ceil(bytes / 2 ** 30))}Gi`;
}

/** Human-readable binary size: `0 B`, `4.0 KiB`, `1.50 GiB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${value} B`;
  let digits = 0;
  if (value < 10) digits = 2;
  else if (value < 100) digits = 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}
