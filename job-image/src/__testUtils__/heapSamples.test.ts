import { doneAt, heapGrowth } from './heapSamples';

describe('doneAt', () => {
  const progress = [
    { t: 1000, done: 100 },
    { t: 2000, done: 300 },
    { t: 3000, done: 400 },
  ];
  it('interpolates between the progress lines around a time', () => {
    expect(doneAt(progress, 1500)).toBe(200);
    expect(doneAt(progress, 2000)).toBe(300);
    expect(doneAt(progress, 2900)).toBeCloseTo(390);
  });
  it('is 0 before the first line and the last count after the last', () => {
    expect(doneAt(progress, 999)).toBe(0);
    expect(doneAt(progress, 5000)).toBe(400);
    expect(doneAt([], 5000)).toBe(0);
  });
  it('puts every sample of a second in a narrow band (not one count for them all)', () => {
    const samples = Array.from({ length: 30 }, (_, i) => {
      const t = 1000 + i * 100;
      return { t, heap: 1, rss: 1, done: doneAt(progress, t) };
    });
    // 300-400 done between t=2000 and t=3000: ten samples, one of them at 300
    const { late } = heapGrowth(samples, 1000, [0, 0.1], [0.3, 0.4]);
    expect(late).toHaveLength(10);
  });
});
