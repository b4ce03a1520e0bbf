/**
 * The credentials every lean request is signed with, from the SDK's default chain (env, web identity,
 * container credentials, ...), held until a quarter of their lifetime (at most 5 minutes) is left,
 * then fetched again: credentials that last a minute, as EKS Pod Identity and IRSA tests use, are
 * renewed about every 45 s, not for every request. `refresh()` fetches new ones at once (after an
 * ExpiredToken), when the source is refreshable: credentials with an expiration; static keys are not.
 */
import type { Credentials } from './sigv4';

export interface ExpiringCredentials extends Credentials {
  expiration?: Date;
}

export type CredentialProvider = (options?: {
  forceRefresh?: boolean;
}) => Promise<ExpiringCredentials>;

/** The most lead time before an expiration at which credentials are renewed. */
const MAX_LEAD_MS = 5 * 60_000;

export class CredentialCache {
  private current:
    { creds: ExpiringCredentials; obtainedAt: number } | undefined;
  private pending: Promise<ExpiringCredentials> | undefined;
  /** Times the provider was asked (tests, logs). */
  fetches = 0;

  constructor(
    private readonly provider: CredentialProvider,
    private readonly now: () => number = Date.now,
  ) {}

  /** Do the credentials expire (so that asking again gives new ones)? */
  get refreshable(): boolean {
    return this.current?.creds.expiration !== undefined;
  }

  async get(): Promise<ExpiringCredentials> {
    const c = this.current;
    if (c && !this.renewDue(c)) return c.creds;
    return this.fetch(c !== undefined);
  }

  /** Fetches new credentials now if the source is refreshable; false for static ones. */
  async refresh(): Promise<boolean> {
    if (!this.refreshable) return false;
    await this.fetch(true);
    return true;
  }

  private renewDue(c: { creds: ExpiringCredentials; obtainedAt: number }) {
    const expiration = c.creds.expiration?.getTime();
    if (expiration === undefined) return false;
    const lead = Math.min(MAX_LEAD_MS, (expiration - c.obtainedAt) / 4);
    return expiration - this.now() <= lead;
  }

  private fetch(force: boolean): Promise<ExpiringCredentials> {
    this.pending ??= (async () => {
      try {
        this.fetches++;
        const creds = await this.provider(
          force ? { forceRefresh: true } : undefined,
        );
        this.current = { creds, obtainedAt: this.now() };
        return creds;
      } finally {
        this.pending = undefined;
      }
    })();
    return this.pending;
  }
}
