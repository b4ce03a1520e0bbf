/**
 * Static session credentials that end before the restore: the expiry read from the credentials
 * Secret (fake API calls, __testUtils__/fakeCluster.ts) or beside handed-over keys, validated, and
 * judged against the estimated duration in planRestore (a fake S3 client lists the source).
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  parseRestoreRequest,
  type RestoreRequestInput,
  type SourceSize,
} from '@kube-restore/common';
import {
  ASSUMED_THROUGHPUT,
  estimateRestoreSeconds,
  judgeExpiry,
  parseExpiration,
} from './credentialExpiry';
import { buildRestoreManifests } from './manifests';
import { planRestore } from './plan';
import { FakeCluster } from './__testUtils__/fakeCluster';

const GiB = 2 ** 30;

/** One listing page of `count` objects of `size` bytes. */
function s3(count: number, size: number) {
  return {
    async send(command: ListObjectsV2Command) {
      const prefix = (command.input.Prefix as string) ?? '';
      return {
        Contents: Array.from({ length: count }, (_, i) => ({
          Key: `${prefix}${i}.bin`,
          Size: size,
        })),
        IsTruncated: false,
      };
    },
    destroy() {},
  } as unknown as S3Client;
}

const withSecret: RestoreRequestInput = {
  source: { bucket: 'datasets', prefix: 'team-a/' },
  target: { namespace: 'team-a', pvc: 'data', size: '2000Gi' },
  credentials: {
    type: 'secret',
    secretName: 's3-session',
    sessionTokenKey: 'AWS_SESSION_TOKEN',
  },
};

const inMinutes = (m: number) =>
  new Date(Date.now() + m * 60_000).toISOString();

function putSecret(cluster: FakeCluster, data: Record<string, string>) {
  cluster.put('secrets', {
    metadata: { name: 's3-session', namespace: 'team-a' },
    data: Object.fromEntries(
      Object.entries(data).map(([k, v]) => [
        k,
        Buffer.from(v).toString('base64'),
      ]),
    ),
  });
}

describe('parseExpiration', () => {
  it('reads the times the AWS tools write', () => {
    expect(parseExpiration('2026-12-06T14:00:00Z', 'x').toISOString()).toBe(
      '2026-12-06T14:00:00.000Z',
    );
    expect(
      parseExpiration('2026-12-06T14:00:00+01:00', 'x').toISOString(),
    ).toBe('2026-12-06T13:00:00.000Z');
    expect(
      parseExpiration(' 2026-12-06T14:00:00.123Z\n', 'x').toISOString(),
    ).toBe('2026-12-06T14:00:00.123Z');
  });

  it('refuses anything else, naming where it came from', () => {
    expect(() =>
      parseExpiration('tomorrow', 'Secret s, key Expiration'),
    ).toThrow(
      'Secret s, key Expiration is "tomorrow": it must be an ISO 8601 time with a zone, such as 2026-12-06T14:00:00Z',
    );
    // No zone: whose 14:00?
    expect(() => parseExpiration('2026-12-06T14:00:00', 'x')).toThrow(/zone/);
    expect(() => parseExpiration('2026-13-45T14:00:00Z', 'x')).toThrow(
      /ISO 8601/,
    );
  });
});

describe('estimateRestoreSeconds and judgeExpiry', () => {
  const size = (objects: number, bytes: number, archived = 0) =>
    ({
      objects,
      bytes,
      archivedObjects: archived,
      archived: archived ? { DEEP_ARCHIVE: { objects: archived, bytes } } : {},
    }) as unknown as SourceSize;

  it('counts bytes, objects, shards and a thaw', () => {
    const request = parseRestoreRequest(withSecret);
    const { bytesPerSecond, fixedSeconds } = ASSUMED_THROUGHPUT;
    expect(estimateRestoreSeconds(request, size(0, 100 * bytesPerSecond))).toBe(
      fixedSeconds + 100,
    );
    const sharded = parseRestoreRequest({
      ...withSecret,
      options: { parallelism: 4 },
    });
    expect(estimateRestoreSeconds(sharded, size(0, 100 * bytesPerSecond))).toBe(
      fixedSeconds + 25,
    );
    const thawing = parseRestoreRequest({
      ...withSecret,
      source: { ...withSecret.source, archive: { tier: 'Bulk' } },
    });
    // Deep Archive's Bulk tier: typically 48 hours.
    expect(estimateRestoreSeconds(thawing, size(1, 0, 1))).toBeGreaterThan(
      48 * 3600,
    );
  });

  it('reports a session that ends first, or has ended; not one that lasts', () => {
    const now = new Date('2026-12-06T12:00:00Z');
    const from = 'Secret s3-session, key AWS_CREDENTIAL_EXPIRATION';
    const soon = { from, expiresAt: new Date('2026-12-06T12:30:00Z') };
    expect(judgeExpiry(soon, 3 * 3600, now)).toEqual({
      expiry: {
        from,
        expiresAt: '2026-12-06T12:30:00.000Z',
        estimatedSeconds: 3 * 3600,
        expiresBeforeEnd: true,
      },
      problem: expect.stringContaining(
        "expire at 2026-12-06T12:30:00.000Z (Secret s3-session, key AWS_CREDENTIAL_EXPIRATION), in 30 min, before the restore's estimated end in 3.0 h",
      ),
    });
    expect(judgeExpiry(soon, 600, now).problem).toBeUndefined();
    expect(judgeExpiry(soon, 600, now).expiry.expiresBeforeEnd).toBe(false);
    expect(
      judgeExpiry(
        { from, expiresAt: new Date('2026-12-06T11:00:00Z') },
        60,
        now,
      ).problem,
    ).toMatch(/expired at 2026-12-06T11:00:00.000Z/);
  });
});

describe('planRestore', () => {
  let cluster: FakeCluster;
  beforeEach(() => {
    cluster = new FakeCluster();
  });
  // 1,000 GiB: about 85 minutes at the assumed 200 MiB/s.
  const big = () => s3(1000, GiB);

  it('reports a Secret session token that expires before the estimated end', async () => {
    putSecret(cluster, {
      AWS_ACCESS_KEY_ID: 'AKIA',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'token',
      AWS_CREDENTIAL_EXPIRATION: inMinutes(20),
    });
    const p = await planRestore(
      cluster.clients(),
      parseRestoreRequest(withSecret),
      { client: big() },
    );
    expect(p.credentialExpiry).toMatchObject({
      from: 'Secret s3-session, key AWS_CREDENTIAL_EXPIRATION',
      expiresBeforeEnd: true,
    });
    expect(p.credentialExpiry!.estimatedSeconds).toBeGreaterThan(80 * 60);
    expect(p.problems).toEqual([
      expect.stringMatching(
        /^the session credentials expire at .* \(Secret s3-session, key AWS_CREDENTIAL_EXPIRATION\), in 20 min, before the restore's estimated end in 1\.\d h/,
      ),
    ]);
    // The Secret's values never reach the plan.
    expect(JSON.stringify(p)).not.toMatch(/AKIA|token"|secret"/);
  });

  it('is content with a session that outlasts the restore, and a credential_process Expiration', async () => {
    putSecret(cluster, { AWS_SESSION_TOKEN: 't', Expiration: inMinutes(600) });
    const p = await planRestore(
      cluster.clients(),
      parseRestoreRequest(withSecret),
      { client: big() },
    );
    expect(p.problems).toEqual([]);
    expect(p.credentialExpiry).toMatchObject({
      from: 'Secret s3-session, key Expiration',
      expiresBeforeEnd: false,
    });
  });

  it('says what is wrong with an expiry that is not a time', async () => {
    putSecret(cluster, { AWS_CREDENTIAL_EXPIRATION: '1h' });
    const p = await planRestore(
      cluster.clients(),
      parseRestoreRequest(withSecret),
      { client: big() },
    );
    expect(p.problems).toEqual([
      'Secret s3-session, key AWS_CREDENTIAL_EXPIRATION is "1h": it must be an ISO 8601 time with a zone, such as 2026-12-06T14:00:00Z',
    ]);
  });

  it('stays silent without a session token key, an expiry, or a Secret it may read', async () => {
    const noToken = parseRestoreRequest({
      ...withSecret,
      credentials: { type: 'secret', secretName: 's3-session' },
    });
    putSecret(cluster, { AWS_CREDENTIAL_EXPIRATION: inMinutes(1) });
    let p = await planRestore(cluster.clients(), noToken, { client: big() });
    expect(p.credentialExpiry).toBeUndefined();
    expect(cluster.callNames()).not.toContain('readSecret team-a/s3-session');
    // A missing Secret (or one this identity may not read): nothing to say.
    cluster = new FakeCluster();
    p = await planRestore(cluster.clients(), parseRestoreRequest(withSecret), {
      client: big(),
    });
    expect(p.credentialExpiry).toBeUndefined();
    expect(p.problems).toEqual([]);
  });

  it('reads the expiry handed over with the keys, and the Secret it builds keeps it', async () => {
    const request = parseRestoreRequest({
      ...withSecret,
      credentials: undefined,
    });
    const keys = {
      accessKeyId: 'AKIA',
      secretAccessKey: 'secret',
      sessionToken: 'token',
      expiresAt: inMinutes(5),
    };
    const p = await planRestore(cluster.clients(), request, {
      client: big(),
      credentials: keys,
    });
    expect(p.credentialExpiry).toMatchObject({
      from: '$AWS_CREDENTIAL_EXPIRATION',
      expiresBeforeEnd: true,
    });
    expect(
      buildRestoreManifests(request, { credentials: keys }).secret?.stringData,
    ).toMatchObject({ AWS_CREDENTIAL_EXPIRATION: keys.expiresAt });
  });
});
