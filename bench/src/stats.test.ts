import { best, groupBy, interleave, median, minMax, ratio } from './stats';

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
    const order = interleave([['a', 'b', 'c']], 3);
    expect(order).toEqual(['a', 'b', 'c', 'b', 'c', 'a', 'c', 'a', 'b']);
    for (let r = 0; r < 3; r++)
      expect([...order.slice(r * 3, r * 3 + 3)].sort()).toEqual([
        'a',
        'b',
        'c',
      ]);
  });

  it('interleave keeps the groups in order and rotates within each', () => {
    const order = interleave(
      [
        ['a1', 'a2', 'a3'],
        ['b1', 'b2'],
      ],
      3,
    );
    expect(order).toEqual([
      ...['a1', 'a2', 'a3', 'b1', 'b2'],
      ...['a2', 'a3', 'a1', 'b2', 'b1'],
      ...['a3', 'a1', 'a2', 'b1', 'b2'],
    ]);
    // the run right after a group switch is a different tool in each repetition
    const afterSwitch = [0, 1, 2].map(r => order[r * 5 + 3]);
    expect(afterSwitch).toEqual(['b1', 'b2', 'b1']);
    const firstOfA = [0, 1, 2].map(r => order[r * 5]);
    expect(new Set(firstOfA).size).toBe(3);
  });

  it('groupBy keeps first-appearance order', () => {
    expect(groupBy(['a1', 'b1', 'a2', 'c1', 'b2'], s => s[0])).toEqual([
      ['a1', 'a2'],
      ['b1', 'b2'],
      ['c1'],
    ]);
  });
});
