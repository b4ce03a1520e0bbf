/**
 * A request's options: how the restore runs (pods, concurrency, verification, file ownership and
 * modes, the Job's lifetime, bandwidth, tuning), shared by RestoreRequest and RestoreSource, and the
 * rules that read them (the default concurrency, the special mode bits a deployment may refuse).
 */
import { z } from 'zod';
import { FieldProblem } from './fieldProblems';
import { quantityString } from './quantitySchema';
import { partsSchema, retrySchema } from './tuningOptions';

const fileMode = z
  .string()
  .regex(/^0?[0-7]{3,4}$/, 'must be an octal mode such as 0644 or 0755');

/** setuid, setgid and sticky: refused in fileMode and dirMode unless the deployment allows them. */
export const SPECIAL_MODE_BITS = 0o7000;

/** The fields of `owner` that carry setuid, setgid or sticky bits. */
export function specialModeBitsProblems(owner: {
  fileMode?: string;
  dirMode?: string;
}): FieldProblem[] {
  return (['fileMode', 'dirMode'] as const)
    .filter(
      field =>
        owner[field] !== undefined &&
        (parseInt(owner[field]!, 8) & SPECIAL_MODE_BITS) !== 0,
    )
    .map(field => ({
      path: `options.owner.${field}`,
      message: `"${owner[field]}" sets setuid, setgid or sticky bits, which this deployment does not allow`,
    }));
}

/** options.concurrency when the request does not set it. */
export const DEFAULT_CONCURRENCY = 16;

export const optionsSchema = z
  .object({
    /** Pods of an Indexed Job; each takes its share of the keys. */
    parallelism: z.number().int().min(1).max(64).default(1),
    /**
     * Concurrent transfers inside each pod (default DEFAULT_CONCURRENCY, 16). Unset or 16: 16 objects
     * over 256 KiB at a time, and small objects, which wait on the round trip rather than the link, up
     * to 16 times as many (at most 256) as the measured time to first byte calls for
     * (job-image/src/inFlight.ts). 16 counts as the default because requests and RestoreSources stored
     * while the schema filled it in carry it. Any other value: every object download, small ones too,
     * is held to it (a bound for a server or link that must not see more requests at once).
     */
    concurrency: z.number().int().min(1).max(256).optional(),
    /** Verify every object (size always; MD5 or S3 checksums when available). */
    verify: z.boolean().default(true),
    owner: z
      .object({
        /** The pod runs as this user, so files are owned by it; 0 (root) is refused by Pod Security `restricted`. */
        uid: z
          .number()
          .int()
          .min(
            1,
            'must be at least 1: root is refused by Pod Security "restricted"',
          )
          .max(2 ** 31 - 1)
          .optional(),
        gid: z
          .number()
          .int()
          .min(0)
          .max(2 ** 31 - 1)
          .optional(),
        fsGroup: z
          .number()
          .int()
          .min(0)
          .max(2 ** 31 - 1)
          .optional(),
        fileMode: fileMode.optional(),
        dirMode: fileMode.optional(),
      })
      .strict()
      .default({}),
    ttlSecondsAfterFinished: z
      .number()
      .int()
      .min(0)
      .max(90 * 24 * 3600)
      .default(24 * 3600),
    activeDeadlineSeconds: z
      .number()
      .int()
      .min(60)
      .max(30 * 24 * 3600)
      .optional(),
    backoffLimit: z.number().int().min(0).max(20).default(3),
    /** Bytes per second for each pod, as a quantity (`50Mi`). */
    bandwidth: quantityString().optional(),
    /** Restoring zero objects is an error unless this is set. */
    allowEmpty: z.boolean().default(false),
    parts: partsSchema.optional(),
    retry: retrySchema.optional(),
  })
  .strict();

export type RestoreOptions = z.output<typeof optionsSchema>;

/**
 * The request with options.concurrency filled in, as it was when the schema supplied the default:
 * what a restore is, for its derived name and for "the same request again", stays what it was
 * before the option became optional.
 */
export function withDefaultConcurrency<
  T extends { options: { concurrency?: number } },
>(request: T): T {
  return {
    ...request,
    options: {
      ...request.options,
      concurrency: request.options.concurrency ?? DEFAULT_CONCURRENCY,
    },
  };
}

/** Whether small objects may go past options.concurrency by the round trip (unset or the default). */
export function smallObjectsScale(options: { concurrency?: number }): boolean {
  return (options.concurrency ?? DEFAULT_CONCURRENCY) === DEFAULT_CONCURRENCY;
}
