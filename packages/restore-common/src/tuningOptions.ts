/**
 * The request's tuning options (options.parts, options.retry): only what a user has a reason to
 * set, the reason in each field's description. The job reads its tuning from these alone.
 */
import { z } from 'zod';
import { quantityString } from './quantitySchema';
import { DEFAULT_PARTS } from './tuningDefaults';

const MiB = 1024 * 1024;

/** Large objects as parallel ranged GETs. */
export const partsSchema = z
  .object({
    minObjectSize: quantityString({ min: MiB })
      .optional()
      .describe(
        `Objects at least this large are fetched as parallel ranged GETs (default ${DEFAULT_PARTS.minObjectSize}). ` +
          'Raise it where S3 bills or throttles by request; lower it when the source is far away and objects are smaller.',
      ),
    size: quantityString({ min: 5 * MiB, max: 5 * 1024 * MiB })
      .optional()
      .describe(
        `Bytes per ranged GET (default ${DEFAULT_PARTS.size}). Smaller parts spread a far object over more streams; ` +
          'larger ones mean fewer requests where S3 bills or throttles by request.',
      ),
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(64)
      .optional()
      .describe(
        `Ranged GETs read at once per large object (default ${DEFAULT_PARTS.concurrency}; each asks for its next part as it nears ` +
          'its end, so that a round trip is not lost between parts). Raise it for a far region or a per-connection ' +
          'bandwidth cap, where each stream is limited by the round trip, not by the disk. ' +
          'Parts borrow the slots of `concurrency` that no other large object uses: a pod never has more than ' +
          '`concurrency` large streams at once.',
      ),
  })
  .strict();

/** How S3 errors are retried; the defaults suit AWS S3 and most servers. */
export const retrySchema = z
  .object({
    attempts: z
      .number()
      .int()
      .min(1)
      .max(30)
      .optional()
      .describe(
        'Attempts per request, the first included (default 8; throttled ones are not counted). ' +
          'Raise it for a flaky link or proxy; 1 fails on the first network error.',
      ),
    baseDelayMs: z
      .number()
      .int()
      .min(10)
      .max(60_000)
      .optional()
      .describe(
        'First backoff after a failed request, doubling per attempt with jitter (default 250 ms).',
      ),
    maxDelayMs: z
      .number()
      .int()
      .min(10)
      .max(600_000)
      .optional()
      .describe(
        'Longest backoff between attempts (default 20 s). Raise it for a server that recovers slowly.',
      ),
    throttleBudgetSeconds: z
      .number()
      .int()
      .min(1)
      .max(24 * 3600)
      .optional()
      .describe(
        'How long S3 may throttle (503 SlowDown) every request with no success before the pod gives up ' +
          'with THROTTLED (retryable; default 900 s). Raise it for a bucket shared with heavy jobs.',
      ),
  })
  .strict()
  .superRefine((retry, ctx) => {
    if (
      retry.baseDelayMs !== undefined &&
      retry.maxDelayMs !== undefined &&
      retry.maxDelayMs < retry.baseDelayMs
    )
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['maxDelayMs'],
        message: 'must not be less than baseDelayMs',
      });
  });
