import { parseOwnersAnnotation } from './consent';

describe('parseOwnersAnnotation', () => {
  it('splits on commas, trims, drops blanks', () => {
    expect(
      parseOwnersAnnotation(' group:default/team-a, user:default/alice ,,'),
    ).toEqual(['group:default/team-a', 'user:default/alice']);
    expect(parseOwnersAnnotation(undefined)).toEqual([]);
    expect(parseOwnersAnnotation('  ')).toEqual([]);
  });
});
