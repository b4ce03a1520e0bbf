/**
 * The defaults of the request's tuning options, apart from their schema (tuningOptions.ts) so that
 * the kubectl plugin's shell can name them in its help without loading zod.
 */

/**
 * The job's split of large objects into parallel ranged GETs when the request sets none: objects
 * of 32 MiB or more, four parts at a time, so that one object fills the link where each stream
 * is held back by the round trip or a per-connection cap (bench/'s emulated region measures it).
 * Parts of 8 MiB: an object verified by its MD5 (one without a full-object CRC) is hashed in order,
 * so what the parts in flight wrote beyond the first of them (about three parts) is still to hash
 * when the last byte lands; smaller parts cost a round trip each (bench/README.md, "The part
 * size"). A full-object CRC is taken part by part and does not wait.
 */
export const DEFAULT_PARTS = {
  minObjectSize: '32Mi',
  size: '8Mi',
  concurrency: 4,
} as const;
