import { OVERLAP_MIN_SEEN_BYTES, PartOverlap } from './partOverlap';

const MiB = 1024 * 1024;

describe('PartOverlap', () => {
  it('is due when what is left would arrive within the time the GET took to answer', () => {
    // answered after 20 ms, read from 20 ms on; 8 MiB at 1 MiB per 20 ms
    const o = new PartOverlap(20, 20, 8 * MiB);
    expect(o.due(4 * MiB, 20 + 80)).toBe(false);
    expect(o.due(6 * MiB, 20 + 120)).toBe(false); // 2 MiB left: 40 ms
    expect(o.due(7 * MiB, 20 + 140)).toBe(true); // 1 MiB left: 20 ms
    expect(o.due(7.5 * MiB, 20 + 150)).toBe(false); // once
  });

  it('is due only at the very end when the answer came at once', () => {
    const o = new PartOverlap(0.5, 100.5, 8 * MiB); // 0.5 ms to answer, 1 MiB per ms
    expect(o.due(8 * MiB - 600 * 1024, 100.5 + 7.4)).toBe(false);
    expect(o.due(8 * MiB - 256 * 1024, 100.5 + 7.75)).toBe(true);
  });

  it('waits for a first MiB before trusting the rate', () => {
    const o = new PartOverlap(80, 80, 2 * MiB);
    expect(o.due(OVERLAP_MIN_SEEN_BYTES - 1, 81)).toBe(false);
    expect(o.due(OVERLAP_MIN_SEEN_BYTES, 90)).toBe(true);
  });

  it('a slowing body puts it off', () => {
    const o = new PartOverlap(10, 10, 8 * MiB);
    expect(o.due(6 * MiB, 10 + 60)).toBe(false); // 2 MiB left at 0.1 MiB/ms: 20 ms > 10
    expect(o.due(7 * MiB, 10 + 700)).toBe(false); // 1 MiB left at 0.01 MiB/ms
    expect(o.due(8 * MiB - 1024, 10 + 800)).toBe(true);
  });
});
