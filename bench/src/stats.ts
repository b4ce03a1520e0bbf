/** Small statistics for noisy, shared machines: medians, spreads and ratios. */

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function minMax(values: readonly number[]): [number, number] {
  if (values.length === 0) throw new Error('range of no values');
  return [Math.min(...values), Math.max(...values)];
}

/** a / b, or undefined when b is not a positive finite number. */
export function ratio(a: number, b: number): number | undefined {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return undefined;
  return a / b;
}

/** The entry with the highest `score`, or undefined for an empty list. */
export function best<T>(
  items: readonly T[],
  score: (t: T) => number,
): T | undefined {
  let top: T | undefined;
  for (const item of items)
    if (top === undefined || score(item) > score(top)) top = item;
  return top;
}

/**
 * Interleaved order for `reps` repetitions of `names`: every repetition runs every tool once, and
 * the order rotates so that no tool always runs first (or right after a given other one).
 */
export function interleave<T>(names: readonly T[], reps: number): T[] {
  const out: T[] = [];
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < names.length; i++)
      out.push(names[(i + r) % names.length]);
  }
  return out;
}
