import { VersionEntry, versionsAsOf } from './versions';

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));
const v = (
  key: string,
  minute: number,
  size = minute,
): VersionEntry<{ key: string; size: number }> => ({
  key,
  lastModified: at(minute),
  version: { key, size },
});
const marker = (key: string, minute: number) => ({
  key,
  lastModified: at(minute),
});

describe('versionsAsOf', () => {
  it('takes the newest version at or before the instant; later ones and keys born later are left out', () => {
    const pick = versionsAsOf(at(30));
    expect(
      pick([v('a', 40), v('a', 30), v('a', 10), v('b', 20), v('c', 50)]),
    ).toEqual([
      { key: 'a', size: 30 },
      { key: 'b', size: 20 },
    ]);
  });

  it('a delete marker at or before the instant hides the key; one after it does not', () => {
    const pick = versionsAsOf(at(30));
    expect(
      pick([v('a', 10), marker('a', 20), v('b', 10), marker('b', 40)]),
    ).toEqual([{ key: 'b', size: 10 }]);
  });

  it('remembers a key decided on one page when its older versions continue on the next', () => {
    const pick = versionsAsOf(at(30));
    expect(pick([v('a', 25)])).toEqual([{ key: 'a', size: 25 }]);
    expect(pick([v('a', 5), v('b', 5)])).toEqual([{ key: 'b', size: 5 }]);
  });
});
