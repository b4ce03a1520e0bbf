/**
 * The workers of one large object's ranged parts (download.ts). The object holds its own large slot
 * of the download gate (inFlight.ts) and the one spare slot download.ts took before choosing to
 * split it (`lent`, given back by download.ts); each further worker, up to the object's `most`, runs
 * on a spare large slot borrowed when a part starts, and gives it back as soon as it finds no part
 * left or another large object waiting for a slot. So splitting never holds the pod to more than
 * `options.concurrency` large streams (the memory the gate is sized for), an object splits as far
 * as the gate has room, and an object waiting for a slot gets one within a part.
 *
 * A worker sends its next part's GET when its part says it is near its end (`nearEnd`,
 * partOverlap.ts), and the next part reads its body only once the one before has ended (`after`):
 * the round trip between two parts is hidden while the bytes read at once, and so the memory they
 * hold, stay one stream's (what has come early waits in the kernel's socket buffer). A worker has
 * at most two parts out, the one ending and the next, and keeps its slot until both have ended.
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
 * Fetches one part: reads its body only after `after` has settled (the worker's part before it),
 * and calls `nearEnd` (any number of times) once the next part may be sent.
 */
export type PartFetch = (
  index: number,
  signal: AbortSignal,
  nearEnd: () => void,
  after: Promise<void>,
) => Promise<void>;

/**
 * Runs `fetch` for parts 0..count-1, in order, with at most `most` workers: one on the object's
 * own slot, `lent` more on slots the caller took for it (and gives back), and others as spare
 * slots allow. The first error stops new parts (the signal given to `fetch` aborts the others)
 * and is thrown once every worker has stopped, so that the caller may discard what they wrote.
 */
export async function runParts(
  count: number,
  most: number,
  slots: SpareSlots,
  signal: AbortSignal,
  fetch: PartFetch,
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
  // A part's promise settles when the part ends and never rejects: a failure goes to fail().
  const start = (
    index: number,
    nearEnd: () => void,
    after: Promise<void>,
  ): Promise<void> => {
    let part: Promise<void>;
    try {
      part = fetch(index, combined, nearEnd, after);
    } catch (error) {
      part = Promise.reject(error);
    }
    return part.then(() => undefined, fail);
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
    // The worker's last part sent: the next one reads its body after it.
    let previous: Promise<void> = Promise.resolve();
    try {
      for (let first = true; next < count && !combined.aborted; first = false) {
        // A borrowed slot goes back to a large object that waits for one.
        if (borrowed && !first && slots.largeWaiting) return;
        let near!: () => void;
        const nearEnd = new Promise<void>(resolve => {
          near = resolve;
        });
        const part = start(next++, () => near(), previous);
        if (!first) grow();
        await Promise.race([part, nearEnd]);
        // At most two parts out: the next one is sent once the one before this has ended.
        await previous;
        previous = part;
      }
    } finally {
      await previous;
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
