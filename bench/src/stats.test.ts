import { best, interleave, median, minMax, ratio } from './stats';

describe('stats', () => {
  it('median of odd and even counts, whatever the order', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(() => median([])).toThrow('median of no values');
  });

  it('minMax and ratio', () => {
    expect(minMax([5, 2, 9])).toEqual([2, 9]);
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(1, 0)).toBeUndefined();
    expect(ratio(NaN, 1)).toBeUndefined();
  });

  it('best picks the highest score', () => {
    expect(best([{ r: 1 }, { r: 3 }, { r: 2 }], x => x.r)).toEqual({ r: 3 });
    expect(best([], () => 0)).toBeUndefined();
  });

  it('interleave runs every tool once per repetition and rotates who goes first', () => {
    const order = interleave(['a', 'b', 'c'], 3);
    expect(order).toEqual(['a', 'b', 'c', 'b', 'c', 'a', 'c', 'a', 'b']);
    for (let r = 0; r < 3; r++)
      expect([...order.slice(r * 3, r * 3 + 3)].sort()).toEqual([
        'a',
        'b',
        'c',
      ]);
  });
});
