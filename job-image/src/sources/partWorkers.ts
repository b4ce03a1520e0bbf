/**
 * The workers of one large object's ranged parts (download.ts). The object holds one large slot of
 * the download gate (inFlight.ts), which its first worker uses; each further worker, up to the
 * object's `most`, runs on a spare large slot taken when a part starts and given back as soon as
 * that worker finds no part left. So splitting objects never holds the pod to more than
 * `options.concurrency` large streams (the memory the gate is sized for), an object splits as far as
 * the gate has room, and one admitted while the gate was full splits later, as others finish.
 */
import { setMaxListeners } from 'node:events';
import { RestoreError } from '../errors';

/** Spare large slots of the download gate (InFlight). */
export interface SpareSlots {
  /** Up to `wanted` slots now, without waiting; how many were taken. */
  takeSpareLarge(wanted: number): number;
  /** Gives one taken slot back. */
  releaseLarge(): void;
}

/**
 * Runs `fetch` for parts 0..count-1, roughly in order, with at most `most` at once as spare slots
 * allow. The first error stops new parts (the signal given to `fetch` aborts the others) and is
 * thrown once every worker has stopped, so that the caller may discard what they wrote.
 */
export async function runParts(
  count: number,
  most: number,
  slots: SpareSlots,
  signal: AbortSignal,
  fetch: (index: number, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const stop = new AbortController();
  const combined = AbortSignal.any([signal, stop.signal]);
  setMaxListeners(0, combined);
  let next = 0;
  let workers = 0;
  let failure: unknown;
  const running: Array<Promise<void>> = [];

  // More workers for the parts no worker has taken yet, as far as the gate has room. A new worker
  // takes its first part as it starts, and grows the set only after that part, as the others do.
  const grow = () => {
    const wanted = Math.min(most - workers, count - next);
    if (wanted <= 0 || combined.aborted) return;
    const taken = slots.takeSpareLarge(wanted);
    workers += taken;
    for (let i = 0; i < taken; i++) running.push(worker(true));
  };
  async function worker(spare: boolean): Promise<void> {
    let justSpawned = spare;
    try {
      while (next < count && !combined.aborted) {
        const part = fetch(next++, combined);
        if (!justSpawned) grow();
        justSpawned = false;
        try {
          await part;
        } catch (error) {
          if (failure === undefined && !stop.signal.aborted) {
            failure = error;
            stop.abort();
          }
          return;
        }
      }
    } finally {
      workers--;
      if (spare) slots.releaseLarge();
    }
  }

  workers = 1;
  running.push(worker(false));
  // Workers spawned while these are awaited join the list before the last one ends.
  for (let i = 0; i < running.length; i++) await running[i];
  if (failure !== undefined) throw failure;
  if (signal.aborted)
    throw new RestoreError('CANCELLED', 'the restore was stopped');
}
