/**
 * The keys of the --scale dataset as scripts/seed-scale.py lays them out: object i is
 * `m/dNNNN/fNNNNNNN` (1,000 a directory), and how many of them an include glob keeps.
 */
import { createKeyFilter } from '@kube-restore/common';

export const SCALE_PER_DIRECTORY = 1000;

/** Object i's key below the `m/` prefix. */
export function scaleRelativeKey(i: number): string {
  const d = Math.floor(i / SCALE_PER_DIRECTORY);
  return `d${String(d).padStart(4, '0')}/f${String(i).padStart(7, '0')}`;
}

/** How many of the first `n` objects the include glob keeps (the job's own filter rule). */
export function countMatching(n: number, include: string): number {
  const keep = createKeyFilter({ include: [include] });
  let count = 0;
  for (let i = 0; i < n; i++) if (keep(scaleRelativeKey(i))) count++;
  return count;
}
