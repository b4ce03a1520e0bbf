/**
 * The job's tuning from the request (options.parts, options.retry, source.archive.pollSeconds),
 * with the defaults that suit a nearby region. Nothing here reads the environment: a restore is
 * tuned by its request alone, which the Job carries.
 */
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_PARTS,
  parseQuantity,
  RestoreRequest,
  smallObjectsScale,
} from '@kube-restore/common';
import { DEFAULT_RETRY_POLICY, RetryPolicy } from './retry';
import type { Tuning } from './sources/types';

export const DEFAULT_TUNING = {
  rangeThreshold: parseQuantity(DEFAULT_PARTS.minObjectSize),
  partSize: parseQuantity(DEFAULT_PARTS.size),
  partConcurrency: DEFAULT_PARTS.concurrency,
  thawPollMs: 60_000,
  thawPollMaxMs: 15 * 60_000,
} as const;

/** How long S3 may throttle every request with no success before THROTTLED. */
export const DEFAULT_THROTTLE_BUDGET_MS = 15 * 60_000;

export function tuningFrom(request: RestoreRequest): Tuning {
  const parts = request.options.parts ?? {};
  const pollMs =
    request.source.archive.pollSeconds !== undefined
      ? request.source.archive.pollSeconds * 1000
      : undefined;
  return {
    concurrency: request.options.concurrency ?? DEFAULT_CONCURRENCY,
    // A concurrency other than the default bounds small objects too; the default one scales.
    smallScales: smallObjectsScale(request.options),
    rangeThreshold:
      parts.minObjectSize !== undefined
        ? parseQuantity(parts.minObjectSize)
        : DEFAULT_TUNING.rangeThreshold,
    partSize:
      parts.size !== undefined
        ? parseQuantity(parts.size)
        : DEFAULT_TUNING.partSize,
    partConcurrency: parts.concurrency ?? DEFAULT_TUNING.partConcurrency,
    // A poll interval given by the request stays as it is; the default one grows.
    thawPollMs: pollMs ?? DEFAULT_TUNING.thawPollMs,
    thawPollMaxMs: pollMs ?? DEFAULT_TUNING.thawPollMaxMs,
  };
}

export function retryFrom(request: RestoreRequest): {
  policy: RetryPolicy;
  throttleBudgetMs: number;
} {
  const retry = request.options.retry ?? {};
  const baseMs = retry.baseDelayMs ?? DEFAULT_RETRY_POLICY.baseMs;
  return {
    policy: {
      attempts: retry.attempts ?? DEFAULT_RETRY_POLICY.attempts,
      baseMs,
      maxMs: Math.max(baseMs, retry.maxDelayMs ?? DEFAULT_RETRY_POLICY.maxMs),
    },
    throttleBudgetMs:
      retry.throttleBudgetSeconds !== undefined
        ? retry.throttleBudgetSeconds * 1000
        : DEFAULT_THROTTLE_BUDGET_MS,
  };
}
