import { CredentialCache, ExpiringCredentials } from './credentialCache';

function source(lifetimeMs?: number) {
  let now = 0;
  let n = 0;
  const asked: Array<boolean | undefined> = [];
  const cache = new CredentialCache(
    async options => {
      asked.push(options?.forceRefresh);
      n++;
      const creds: ExpiringCredentials = {
        accessKeyId: `AK${n}`,
        secretAccessKey: 's',
      };
      if (lifetimeMs !== undefined)
        creds.expiration = new Date(now + lifetimeMs);
      return creds;
    },
    () => now,
  );
  return {
    cache,
    asked,
    at(ms: number) {
      now = ms;
    },
  };
}

describe('CredentialCache', () => {
  it('keeps credentials until a quarter of their lifetime is left, then forces new ones', async () => {
    const s = source(60_000);
    expect((await s.cache.get()).accessKeyId).toBe('AK1');
    s.at(44_999);
    expect((await s.cache.get()).accessKeyId).toBe('AK1');
    s.at(45_000);
    expect((await s.cache.get()).accessKeyId).toBe('AK2');
    expect(s.asked).toEqual([undefined, true]);
  });

  it('renews at most 5 minutes ahead for long-lived credentials', async () => {
    const s = source(3_600_000);
    await s.cache.get();
    s.at(3_600_000 - 300_001);
    expect((await s.cache.get()).accessKeyId).toBe('AK1');
    s.at(3_600_000 - 300_000);
    expect((await s.cache.get()).accessKeyId).toBe('AK2');
  });

  it('asks once for callers that come together', async () => {
    const s = source(60_000);
    const all = await Promise.all([1, 2, 3].map(() => s.cache.get()));
    expect(all.map(c => c.accessKeyId)).toEqual(['AK1', 'AK1', 'AK1']);
    expect(s.cache.fetches).toBe(1);
  });

  it('refreshes on demand only credentials that expire: static keys are not refreshable', async () => {
    const expiring = source(60_000);
    await expiring.cache.get();
    expect(await expiring.cache.refresh()).toBe(true);
    expect((await expiring.cache.get()).accessKeyId).toBe('AK2');
    const fixed = source();
    await fixed.cache.get();
    expect(await fixed.cache.refresh()).toBe(false);
    fixed.at(10 * 3_600_000);
    expect((await fixed.cache.get()).accessKeyId).toBe('AK1');
    expect(fixed.cache.fetches).toBe(1);
  });
});
