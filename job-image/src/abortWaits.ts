/**
 * Many short waits on one AbortSignal through a single 'abort' listener: Node's EventTarget looks
 * through all of a signal's listeners on every add and remove, so the hundreds of downloads that
 * wait at once on a restore's signal (the gate, the throttle, a connection) each cost hundreds of
 * steps to start and to end their wait when each adds its own listener. Here a wait is a Set entry.
 * The one listener goes when the last wait ends: a signal made by AbortSignal.any is kept alive by
 * its sources while it has an 'abort' listener.
 */
type Watch = { listener: () => void; waits: Set<() => void> };
const watches = new WeakMap<AbortSignal, Watch>();

/**
 * Calls `onAbort` once when `signal` aborts, unless the returned function was called first (it
 * ends the wait; calling it again does nothing). `onAbort` is not called for a signal aborted
 * already: the caller checks `signal.aborted` first, as with addEventListener.
 */
export function whenAborted(
  signal: AbortSignal,
  onAbort: () => void,
): () => void {
  let watch = watches.get(signal);
  if (!watch) {
    const waits = new Set<() => void>();
    const listener = () => {
      watches.delete(signal);
      for (const wait of waits) wait();
      waits.clear();
    };
    watch = { listener, waits };
    watches.set(signal, watch);
    signal.addEventListener('abort', listener, { once: true });
  }
  const { waits, listener } = watch;
  // A function of its own, so that one callback given twice is two waits.
  const wait = () => onAbort();
  waits.add(wait);
  return () => {
    if (!waits.delete(wait) || waits.size > 0) return;
    watches.delete(signal);
    signal.removeEventListener('abort', listener);
  };
}
