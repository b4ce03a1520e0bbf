/** Bounded concurrency and retried control calls, shared by the sources. */
import { setMaxListeners } from 'node:events';
import { RestoreError } from '../errors';
import { withRetry } from '../retry';
import type { ObjectHead } from '../s3/objectHead';
import type { RestoreContext } from './types';

/** An S3 call with the restore's retry policy. */
export function controlCall<T>(
  ctx: RestoreContext,
  entry: string | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  return withRetry(fn, ctx.retry, {
    signal: ctx.signal,
    entry,
    onRetry: (error, attempt, delayMs) =>
      ctx.reporter.log('warn', 'retrying an S3 call', {
        key: entry,
        code: error.code,
        error: error.message,
        attempt,
        delayMs,
      }),
  });
}

/** A lean HEAD of one object (s3/access.ts), with the restore's retries. */
export function headOf(
  ctx: RestoreContext,
  item: { key: string; versionId?: string },
  signal: AbortSignal = ctx.signal,
): Promise<ObjectHead> {
  return controlCall(ctx, item.key, () =>
    ctx.s3.headObject({ key: item.key, versionId: item.versionId, signal }),
  );
}

/** Runs `fn` over `items` with at most `limit` at a time; the first error stops new work and is thrown. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  fn: (item: T, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const stop = new AbortController();
  const combined = AbortSignal.any([signal, stop.signal]);
  // Every in-flight request listens for the abort.
  setMaxListeners(0, combined);
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < items.length && !combined.aborted) {
      const item = items[next++];
      try {
        await fn(item, combined);
      } catch (error) {
        if (
          failure === undefined &&
          !(stop.signal.aborted && isCancel(error))
        ) {
          failure = error;
          stop.abort();
        }
        return;
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker),
  );
  if (failure !== undefined) throw failure;
  if (signal.aborted)
    throw new RestoreError('CANCELLED', 'the restore was stopped');
}

function isCancel(error: unknown): boolean {
  return (
    (error as RestoreError)?.code === 'CANCELLED' ||
    (error as Error)?.name === 'AbortError'
  );
}
