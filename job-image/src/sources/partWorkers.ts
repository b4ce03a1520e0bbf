/**
 * The workers of one large object's ranged parts (download.ts). The object holds its own large slot
 * of the download gate (inFlight.ts) and the one spare slot download.ts took before choosing to
 * split it (`lent`, given back by download.ts); each further worker, up to the object's `most`, runs
 * on a spare large slot borrowed when a part starts, and gives it back as soon as it finds no part
 * left or another large object waiting for a slot. So splitting never holds the pod to more than
 * `options.concurrency` large streams (the memory the gate is sized for), an object splits as far
 * as the gate has room, and an object waiting for a slot gets one within a part.
 */
import { setMaxListeners } from 'node:events';
import { RestoreError } from '../errors';

/** Spare large slots of the download gate (InFlight). */
export interface SpareSlots {
  /** Up to `wanted` slots now, without waiting; how many were taken. */
  takeSpareLarge(wanted: number): number;
  /** Gives one taken slot back. */
  releaseLarge(): void;
  /** A large object is waiting for a slot. */
  readonly largeWaiting: boolean;
}

/**
 * Runs `fetch` for parts 0..count-1, in order, with at most `most` at once: one worker on the
 * object's own slot, `lent` more on slots the caller took for it (and gives back), and others as
 * spare slots allow. The first error stops new parts (the signal given to `fetch` aborts the
 * others) and is thrown once every worker has stopped, so that the caller may discard what they
 * wrote.
 */
export async function runParts(
  count: number,
  most: number,
  slots: SpareSlots,
  signal: AbortSignal,
  fetch: (index: number, signal: AbortSignal) => Promise<void>,
  lent = 0,
): Promise<void> {
  const stop = new AbortController();
  const combined = AbortSignal.any([signal, stop.signal]);
  setMaxListeners(0, combined);
  let next = 0;
  let workers = 0;
  let failure: unknown;
  const running: Array<Promise<void>> = [];

  const fail = (error: unknown) => {
    if (failure === undefined && !stop.signal.aborted) {
      failure = error;
      stop.abort();
    }
  };
  const start = (index: number): Promise<void> => {
    try {
      return fetch(index, combined);
    } catch (error) {
      return Promise.reject(error);
    }
  };
  // Borrowed workers for the parts no worker has taken yet, as far as the gate has room. A new
  // worker takes its first part as it starts and grows the set only after that part, as all do.
  const grow = () => {
    const wanted = Math.min(most - workers, count - next);
    if (wanted <= 0 || combined.aborted) return;
    const taken = slots.takeSpareLarge(wanted);
    workers += taken;
    for (let i = 0; i < taken; i++) running.push(worker(true));
  };
  async function worker(borrowed: boolean): Promise<void> {
    try {
      for (let first = true; next < count && !combined.aborted; first = false) {
        // A borrowed slot goes back to a large object that waits for one.
        if (borrowed && !first && slots.largeWaiting) return;
        const part = start(next++);
        if (!first) grow();
        try {
          await part;
        } catch (error) {
          fail(error);
          return;
        }
      }
    } finally {
      workers--;
      if (borrowed) slots.releaseLarge();
    }
  }

  // A worker that finds nothing to do ends at once and lowers `workers`: count from a constant.
  const initial = 1 + Math.max(0, Math.min(lent, count - 1, most - 1));
  workers = initial;
  for (let i = 0; i < initial; i++) running.push(worker(false));
  grow();
  // Workers spawned while these are awaited join the list before the last one ends.
  for (let i = 0; i < running.length; i++) await running[i];
  // A stopped restore is CANCELLED, whatever its aborted parts threw.
  if (signal.aborted)
    throw new RestoreError('CANCELLED', 'the restore was stopped');
  if (failure !== undefined) throw failure;
}
