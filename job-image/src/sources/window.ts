/**
 * The bounded window between a listing and its transfers: the listing puts objects in and waits
 * while the window is full (backpressure), the workers take the largest waiting object first (so
 * that the tail of a transfer is small objects rather than one big one, within the window).
 * `Pipeline` runs a producer into a window and workers out of it; the first error stops both.
 */
import { setMaxListeners } from 'node:events';
import { RestoreError } from '../errors';

/** Any item; one without a numeric `size` weighs nothing (they come out in no particular order). */
type Sized = object;
function weight(item: Sized): number {
  const size = (item as { size?: unknown }).size;
  return typeof size === 'number' ? size : 0;
}

interface Waiter {
  resolve: () => void;
}

/** Larger first; among equal sizes, the one put first (the listing's order). */
function before(a: Entry<Sized>, b: Entry<Sized>): boolean {
  return a.weight > b.weight || (a.weight === b.weight && a.seq < b.seq);
}

interface Entry<T> {
  item: T;
  weight: number;
  seq: number;
}

export class TransferWindow<T extends Sized> {
  private readonly heap: Array<Entry<T>> = [];
  private seq = 0;
  private readonly putters: Waiter[] = [];
  private readonly takers: Waiter[] = [];
  private readonly fullWaiters: Waiter[] = [];
  private ended = false;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error('the window holds at least one');
  }

  get waiting(): number {
    return this.heap.length;
  }

  /** Adds `item`; waits while the window is full. Resolves false (dropping it) once stopped. */
  async put(item: T): Promise<boolean> {
    while (this.heap.length >= this.capacity && !this.ended)
      await new Promise<void>(resolve => this.putters.push({ resolve }));
    if (this.ended) return false;
    this.push(item);
    this.takers.shift()?.resolve();
    if (this.heap.length >= this.capacity)
      for (const w of this.fullWaiters.splice(0)) w.resolve();
    return true;
  }

  /** Resolves once the window is full or ended. */
  async whenFull(): Promise<void> {
    if (this.heap.length >= this.capacity || this.ended) return;
    await new Promise<void>(resolve => this.fullWaiters.push({ resolve }));
  }

  /** What waits now, in no order (the caller may annotate the items; it must not keep them). */
  peek(): T[] {
    return this.heap.map(e => e.item);
  }

  /** The largest waiting item; waits for one. Undefined once the window is ended and empty. */
  async take(): Promise<T | undefined> {
    while (this.heap.length === 0 && !this.ended)
      await new Promise<void>(resolve => this.takers.push({ resolve }));
    const item = this.pop();
    this.putters.shift()?.resolve();
    return item;
  }

  /** No more items come: takers drain what waits, then get undefined. */
  end(): void {
    this.ended = true;
    this.wakeAll();
  }

  /** Drops what waits and wakes everyone (after a failure or a stop). */
  stop(): void {
    this.heap.length = 0;
    this.end();
  }

  private wakeAll(): void {
    for (const w of this.putters.splice(0)) w.resolve();
    for (const w of this.takers.splice(0)) w.resolve();
    for (const w of this.fullWaiters.splice(0)) w.resolve();
  }

  private push(item: T): void {
    const h = this.heap;
    h.push({ item, weight: weight(item), seq: this.seq++ });
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i], h[parent])) break;
      [h[parent], h[i]] = [h[i], h[parent]];
      i = parent;
    }
  }

  private pop(): T | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0].item;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}

function isCancel(error: unknown): boolean {
  return (
    (error as RestoreError)?.code === 'CANCELLED' ||
    (error as Error)?.name === 'AbortError'
  );
}

/**
 * A producer feeding a window and `concurrency` workers draining it. `start` runs the producer
 * only (a caller may look at the first window before any worker runs); `run` adds the workers and
 * waits for everything. The first error (of the producer or a worker) stops the rest and is thrown.
 */
export class Pipeline<T extends Sized> {
  readonly window: TransferWindow<T>;
  /** Aborted on the first failure or when the restore is stopped. */
  readonly signal: AbortSignal;
  private readonly stopper = new AbortController();
  private failure: unknown;
  private producing?: Promise<void>;

  constructor(
    private readonly outer: AbortSignal,
    capacity: number,
  ) {
    this.window = new TransferWindow<T>(capacity);
    this.signal = AbortSignal.any([outer, this.stopper.signal]);
    // Every in-flight request listens for the abort.
    setMaxListeners(0, this.signal);
    // A producer waiting on a full window must wake up when the restore is stopped.
    this.signal.addEventListener('abort', () => this.window.stop(), {
      once: true,
    });
  }

  /** Starts the producer: it puts items (put resolves false once the pipeline stopped). */
  start(
    produce: (
      put: (item: T) => Promise<boolean>,
      signal: AbortSignal,
    ) => Promise<void>,
  ): void {
    this.producing = produce(item => this.window.put(item), this.signal).then(
      () => this.window.end(),
      error => this.fail(error),
    );
  }

  /** Records the first failure and stops everything. */
  fail(error: unknown): void {
    if (
      this.failure === undefined &&
      !(this.stopper.signal.aborted && isCancel(error))
    )
      this.failure = error;
    this.stopper.abort();
    this.window.stop();
  }

  /** Throws the first failure, if any (for a caller that waited on the window). */
  check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Runs the workers until the producer ended and the window is empty, or something failed. */
  async run(
    concurrency: number,
    work: (item: T, signal: AbortSignal) => Promise<void>,
  ): Promise<void> {
    const worker = async () => {
      while (!this.signal.aborted) {
        const item = await this.window.take();
        if (item === undefined) return;
        try {
          await work(item, this.signal);
        } catch (error) {
          this.fail(error);
          return;
        }
      }
    };
    await Promise.all([
      this.producing,
      ...Array.from({ length: Math.max(1, concurrency) }, worker),
    ]);
    this.check();
    if (this.outer.aborted)
      throw new RestoreError('CANCELLED', 'the restore was stopped');
  }

  /** Stops after a failure found outside the workers, once the producer returned. */
  async abandon(error: unknown): Promise<never> {
    this.fail(error);
    await this.producing;
    throw this.failure ?? error;
  }
}

/** Runs `fn` over a stream of items, `limit` at a time, holding at most twice that many. */
export async function forEachStreamed<T extends Sized>(
  signal: AbortSignal,
  items: Iterable<T> | AsyncIterable<T>,
  limit: number,
  fn: (item: T, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const pipeline = new Pipeline<T>(signal, Math.max(1, limit) * 2);
  pipeline.start(async put => {
    for await (const item of items) if (!(await put(item))) return;
  });
  await pipeline.run(limit, fn);
}
