/**
 * The defaults of the request's tuning options, apart from their schema (tuningOptions.ts) so that
 * the kubectl plugin's shell can name them in its help without loading zod.
 */

/**
 * The job's split of large objects into parallel ranged GETs when the request sets none: objects
 * of two parts or more, four parts at a time, so that one object fills the link where each stream
 * is held back by the round trip or a per-connection cap (bench/'s emulated region measures it).
 */
export const DEFAULT_PARTS = {
  minObjectSize: '32Mi',
  size: '16Mi',
  concurrency: 4,
} as const;
