/** Request bodies and queries of the HTTP API, checked at the edge. Details of a restore are checked by common's schema. */
import { ARCHIVE_TIERS, SOURCE_FORMATS } from '@kube-restore/common';
import { z } from 'zod';
import { describeIssue } from '../zodIssues';

export const restoreBodySchema = z
  .object({
    /** The catalog entity the restore is for; its annotations give namespace and cluster. */
    entityRef: z.string().min(1),
    name: z.string().optional(),
    source: z
      .object({
        /** A configured source. */
        name: z.string().min(1),
        /** Below the source's prefix for this entity: a sub-prefix ending in `/`, or one key (an archive). */
        path: z.string().max(1024).optional(),
        format: z.enum(SOURCE_FORMATS).optional(),
        include: z.array(z.string()).optional(),
        exclude: z.array(z.string()).optional(),
        stripPrefix: z.string().optional(),
        asOf: z.string().optional(),
        archiveTier: z.enum([...ARCHIVE_TIERS, 'fail']).optional(),
      })
      .strict(),
    target: z
      .object({
        pvc: z.string(),
        mode: z.string().optional(),
        size: z.string().optional(),
        storageClassName: z.string().optional(),
        accessModes: z.array(z.string()).optional(),
        conflict: z.string().optional(),
      })
      .strict(),
    options: z.record(z.unknown()).optional(),
  })
  .strict();

export type RestoreBody = z.infer<typeof restoreBodySchema>;

/** One restore per folder below `source.path`; each folder name is the PVC name. */
export const namespaceRestoreBodySchema = restoreBodySchema.omit({
  target: true,
  name: true,
});
export type NamespaceRestoreBody = z.infer<typeof namespaceRestoreBodySchema>;

export const decisionBodySchema = z
  .object({ comment: z.string().max(2000).optional() })
  .strict();

export const listQuerySchema = z
  .object({
    entityRef: z.string().min(1).optional(),
    namespace: z.string().min(1).optional(),
    cluster: z.string().min(1).optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
  })
  .strict();

export const deleteQuerySchema = z
  .object({ deletePvc: z.enum(['true', 'false']).optional() })
  .strict();

export const logsQuerySchema = z
  .object({ tailLines: z.coerce.number().int().min(1).max(100000).optional() })
  .strict();

/** `source.path: must be ...; target.pvc: is required` from a zod error, for InputError. */
export function describeZodError(error: z.ZodError, root = ''): string {
  return error.issues
    .map(issue => {
      const path =
        [root, ...issue.path].filter(p => p !== '').join('.') || '(body)';
      return `${path}: ${describeIssue(issue)}`;
    })
    .join('; ');
}
