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
 * Interleaved order for `reps` repetitions of `groups` (a dataset's tools each): every repetition
 * runs every tool once, the groups stay in their order, and each group's order rotates, so that a
 * different tool runs first in its group in each repetition. The first run after a group switch is
 * the one the previous dataset's disk work (writeback, freeing a removed tree) slows down: with a
 * rotation over all the groups' tools at once, the first tool of every group was that run in every
 * repetition.
 */
export function interleave<T>(
  groups: readonly (readonly T[])[],
  reps: number,
): T[] {
  const out: T[] = [];
  for (let r = 0; r < reps; r++) {
    for (const names of groups) {
      for (let i = 0; i < names.length; i++)
        out.push(names[(i + r) % names.length]);
    }
  }
  return out;
}

/** Items grouped by key, groups in order of first appearance, items in their order. */
export function groupBy<T, K>(items: readonly T[], key: (item: T) => K): T[][] {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const g = groups.get(k);
    if (g) g.push(item);
    else groups.set(k, [item]);
  }
  return [...groups.values()];
}
