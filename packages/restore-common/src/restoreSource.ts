/**
 * RestoreSource (kube-restore.io/v1alpha1): what a PVC names in spec.dataSourceRef to be seeded by
 * the populator. Its spec is the source part of a RestoreRequest (source, credentials, options); the
 * target is the PVC that names it. The CRD's OpenAPI schema is generated from these zod schemas.
 */
import { z } from 'zod';
import {
  FieldProblem,
  RestoreRequestError,
  zodProblems,
} from './fieldProblems';
import {
  credentialsSchema,
  RestoreRequest,
  safeParseRestoreRequest,
  sourceSchema,
} from './request';
import { optionsSchema } from './requestOptions';

export const RESTORE_SOURCE_GROUP = 'kube-restore.io';
export const RESTORE_SOURCE_VERSION = 'v1alpha1';
export const RESTORE_SOURCE_KIND = 'RestoreSource';
export const RESTORE_SOURCE_PLURAL = 'restoresources';
export const RESTORE_SOURCE_API_VERSION = `${RESTORE_SOURCE_GROUP}/${RESTORE_SOURCE_VERSION}`;

/** The spec of a RestoreSource: the request without its target (the PVC is the target). */
export const restoreSourceSpecSchema = z
  .object({
    source: sourceSchema,
    /** Credentials from the PVC's namespace: a Secret there, a ServiceAccount there, or none. */
    credentials: credentialsSchema.default({ type: 'none' }),
    options: optionsSchema.default({}),
  })
  .strict();

export type RestoreSourceSpecInput = z.input<typeof restoreSourceSpecSchema>;

/** One PVC's state in a RestoreSource's status. */
export const POPULATION_STATES = [
  'Waiting',
  'Restoring',
  'Binding',
  'Succeeded',
  'Failed',
] as const;
export type PopulationState = (typeof POPULATION_STATES)[number];

export interface PopulationStatus {
  pvc: string;
  state: PopulationState;
  /** the restore's error code when it failed (termination message), e.g. BUCKET_NOT_FOUND */
  code?: string;
  message?: string;
  /** the restore Job filling the prime PVC */
  restore?: string;
  /** attempts so far (failures are retried with backoff) */
  attempts?: number;
  lastTransitionTime: string;
}

/**
 * The RestoreRequest that fills `pvc` (a prime PVC in `namespace`, mode existing) from a RestoreSource's
 * spec. Throws RestoreRequestError naming each bad field as `spec.<path>`.
 */
export function requestFromRestoreSource(
  spec: unknown,
  target: { namespace: string; pvc: string; name?: string },
): RestoreRequest {
  const parsed = restoreSourceSpecSchema.safeParse(spec ?? {});
  if (!parsed.success) throw specError(zodProblems(parsed.error));
  const input = spec as Record<string, unknown>;
  const result = safeParseRestoreRequest({
    ...(target.name ? { name: target.name } : {}),
    source: input.source,
    credentials: input.credentials,
    options: input.options,
    target: {
      namespace: target.namespace,
      pvc: target.pvc,
      mode: 'existing',
    },
  });
  if (!result.ok) throw specError(result.problems);
  return result.request;
}

function specError(problems: FieldProblem[]): RestoreRequestError {
  return new RestoreRequestError(
    problems.map(p => ({ ...p, path: p.path ? `spec.${p.path}` : 'spec' })),
  );
}
