/**
 * A Kubernetes quantity in a zod schema: the string as written (`64Mi`), checked to parse and, when
 * bounds are given, to lie within them. The request and its options share it.
 */
import { z } from 'zod';
import { parseQuantity, QuantityError } from './quantity';

const MiB = 1024 * 1024;

function formatBound(bytes: number): string {
  return bytes >= 1024 * MiB ? `${bytes / (1024 * MiB)}Gi` : `${bytes / MiB}Mi`;
}

/** A quantity string, optionally within [min, max] bytes; errors quote the value and the bound. */
export const quantityString = (bounds: { min?: number; max?: number } = {}) =>
  z.string().superRefine((value, ctx) => {
    let bytes: number;
    try {
      bytes = parseQuantity(value);
    } catch (error) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: (error as QuantityError).message,
      });
      return;
    }
    if (bounds.min !== undefined && bytes < bounds.min)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `must be at least ${formatBound(bounds.min)} (got "${value}")`,
      });
    if (bounds.max !== undefined && bytes > bounds.max)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `must be at most ${formatBound(bounds.max)} (got "${value}")`,
      });
  });
