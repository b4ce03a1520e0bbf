import { consents, normalizeOwnerRef } from './consent';

const optedIn = (...owners: string[]) => ({
  namespace: 'team-a',
  optedIn: true,
  owners,
});

describe('namespace consent', () => {
  it('lets in an owner the namespace lists, as a full ref, a bare group name or in another case', () => {
    expect(
      consents(optedIn('group:default/team-a'), 'group:default/team-a'),
    ).toBe(true);
    expect(consents(optedIn('team-a'), 'group:default/team-a')).toBe(true);
    expect(
      consents(optedIn('Group:default/Team-A'), 'group:default/team-a'),
    ).toBe(true);
    expect(
      consents(
        optedIn('user:default/alice', 'group:default/sre'),
        'user:default/alice',
      ),
    ).toBe(true);
  });

  it('refuses an owner not listed, a user named like a listed group, an entity without owner, a namespace not opted in', () => {
    expect(
      consents(optedIn('group:default/team-b'), 'group:default/team-a'),
    ).toBe(false);
    expect(consents(optedIn('group:default/alice'), 'user:default/alice')).toBe(
      false,
    );
    expect(
      consents(optedIn('group:other/team-a'), 'group:default/team-a'),
    ).toBe(false);
    expect(consents(optedIn('group:default/team-a'), undefined)).toBe(false);
    expect(consents(optedIn(), 'group:default/team-a')).toBe(false);
    expect(
      consents(
        {
          namespace: 'team-a',
          optedIn: false,
          owners: ['group:default/team-a'],
        },
        'group:default/team-a',
      ),
    ).toBe(false);
  });

  it('ignores entries that are not entity refs', () => {
    expect(normalizeOwnerRef('group:default/')).toBeUndefined();
    expect(
      consents(optedIn('group:default/', '*'), 'group:default/team-a'),
    ).toBe(false);
  });
});
