import { getEventListeners } from 'node:events';
import { whenAborted } from './abortWaits';

const heldListeners = (signal: AbortSignal) =>
  getEventListeners(signal, 'abort').length;

describe('whenAborted', () => {
  it('calls every wait still on when the signal aborts, once', () => {
    const c = new AbortController();
    const calls: string[] = [];
    whenAborted(c.signal, () => calls.push('a'));
    const endB = whenAborted(c.signal, () => calls.push('b'));
    whenAborted(c.signal, () => calls.push('c'));
    endB();
    c.abort();
    c.abort();
    expect(calls).toEqual(['a', 'c']);
    expect(heldListeners(c.signal)).toBe(0);
  });

  it('holds one listener while waits are on, and none once they all ended', () => {
    const c = new AbortController();
    const seen: number[] = [];
    const ends = Array.from({ length: 300 }, (_, i) =>
      whenAborted(c.signal, () => seen.push(i)),
    );
    expect(heldListeners(c.signal)).toBe(1);
    for (const end of ends.slice(0, 299)) end();
    expect(heldListeners(c.signal)).toBe(1);
    ends[299]();
    ends[299]();
    expect(heldListeners(c.signal)).toBe(0);
    // a later wait adds the listener again
    whenAborted(c.signal, () => seen.push(-1));
    c.abort();
    expect(seen).toEqual([-1]);
  });

  it('keeps the same callback given twice as two waits', () => {
    const c = new AbortController();
    let calls = 0;
    const onAbort = () => calls++;
    const end = whenAborted(c.signal, onAbort);
    whenAborted(c.signal, onAbort);
    end();
    c.abort();
    expect(calls).toBe(1);
  });

  it('leaves no listener on a signal made by AbortSignal.any once its waits ended', () => {
    // (such a signal with an 'abort' listener is kept alive by its sources)
    const outer = new AbortController();
    const signal = AbortSignal.any([outer.signal]);
    const ends = [
      whenAborted(signal, () => undefined),
      whenAborted(signal, () => undefined),
    ];
    for (const end of ends) end();
    expect(heldListeners(signal)).toBe(0);
  });

  it('adds one listener for hundreds of waits', () => {
    const c = new AbortController();
    for (let i = 0; i < 500; i++) whenAborted(c.signal, () => undefined);
    expect(heldListeners(c.signal)).toBe(1);
  });
});
