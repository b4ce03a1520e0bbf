/**
 * Credentials that expire mid-restore, against a real MinIO through the bundle: EKS Pod Identity
 * (container credentials with a token file) and IRSA (web identity through STS), each from a
 * loopback endpoint that hands out real MinIO session keys announced to last a minute
 * (KUBE_RESTORE_TEST_CRED_LIFETIME_MS shortens it for a local run; __testUtils__/credentialServer.ts).
 * The fault proxy answers ExpiredToken, as S3 does, for a key past its time. A bandwidth limit
 * stretches each restore over two lifetimes and more.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { EXIT_CODE_FATAL } from '@kube-restore/common';
import { CredentialServer } from './__testUtils__/credentialServer';
import { body, md5, useHarness } from './__testUtils__/harness';
import { readTree } from './__testUtils__/job';

const LIFETIME_MS = Number(
  process.env.KUBE_RESTORE_TEST_CRED_LIFETIME_MS ?? 60_000,
);
/** 256 KiB/s: one 256 KiB object a second, so that new GETs (new signatures) go all along. */
const BANDWIDTH = 256 * 1024;
const OBJECT_BYTES = 256 * 1024;
/** Objects for a restore of about `ms`. */
const objectsFor = (ms: number) =>
  Math.ceil(((ms / 1000) * BANDWIDTH) / OBJECT_BYTES);

jest.setTimeout(3 * LIFETIME_MS + 120_000);

const h = useHarness({
  kind: 'minio',
  bucket: 'src',
  name: 'cred',
  viaProxy: true,
  async seed(harness) {
    for (let i = 0; i < objectsFor(2.2 * LIFETIME_MS); i++)
      await harness.server.put('src', `long/${i}.bin`, body(i, OBJECT_BYTES));
    await harness.server.put('src', 'short/one.txt', 'one\n');
  },
});

/** Credentials no test uses: runJob's env credentials are blanked so the chain goes further. */
const UNUSED = {
  accessKeyId: 'AKNOTUSED0000000',
  secretAccessKey: 'not-used-secret',
};
const NO_ENV_KEYS = { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' };
/**
 * Anything not on loopback goes to a proxy port where nothing listens: were the SDK to ignore the
 * local STS endpoint, it would fail here instead of reaching out.
 */
const LOOPBACK_ONLY = {
  HTTPS_PROXY: 'http://127.0.0.1:9',
  HTTP_PROXY: 'http://127.0.0.1:9',
  NO_PROXY: '127.0.0.1',
  NODE_USE_ENV_PROXY: '1',
};

/** ExpiredToken from the proxy for keys past their time; the keys every request was signed with. */
function expireKeys(creds: CredentialServer) {
  const keys = new Set<string>();
  const rule = h.proxy.add({
    match: r => {
      const key = /Credential=([^/]+)\//.exec(
        String(r.headers.authorization ?? ''),
      )?.[1];
      if (key) keys.add(key);
      return key !== undefined && creds.expired(key);
    },
    action: {
      type: 'status',
      status: 400,
      code: 'ExpiredToken',
      message: 'The provided token has expired.',
    },
  });
  return { keys, rule };
}

async function expectLongRestored(target: string) {
  const tree = await readTree(target);
  const n = objectsFor(2.2 * LIFETIME_MS);
  expect(tree.size).toBe(n);
  for (let i = 0; i < n; i++)
    expect(md5(tree.get(`${i}.bin`)!)).toBe(md5(body(i, OBJECT_BYTES)));
}

/** With the pod's own identity (IRSA or Pod Identity): the job looks nowhere else. */
const longRequest = () => ({
  ...h.request(
    { prefix: 'long/' },
    { options: { concurrency: 2, bandwidth: String(BANDWIDTH) } },
  ),
  credentials: {
    type: 'serviceAccount' as const,
    serviceAccountName: 'restore',
  },
});

it('EKS Pod Identity: container credentials renewed before they expire, the rotated token file read each time', async () => {
  let token = 'pod-identity-token-1';
  const tokenFile = path.join(h.base, 'eks-pod-identity-token');
  await fsp.writeFile(tokenFile, token);
  const creds = await CredentialServer.start(h.server, {
    lifetimeMs: LIFETIME_MS,
    token: () => token,
  });
  // the kubelet rotates the projected token while the restore runs
  const rotate = setTimeout(async () => {
    token = 'pod-identity-token-2';
    await fsp.writeFile(tokenFile, token);
  }, LIFETIME_MS / 2);
  try {
    const { keys, rule } = expireKeys(creds);
    const target = await h.newTarget();
    const started = Date.now();
    const run = await h.run({
      request: longRequest(),
      target,
      credentials: UNUSED,
      env: {
        ...NO_ENV_KEYS,
        ...LOOPBACK_ONLY,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: creds.containerUri,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
      },
      timeoutMs: 3 * LIFETIME_MS + 60_000,
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded' });
    await expectLongRestored(target);
    // it outlived two lifetimes on renewed keys, each asked for with the token of the moment
    expect(Date.now() - started).toBeGreaterThan(2 * LIFETIME_MS);
    expect(creds.issued.length).toBeGreaterThanOrEqual(3);
    expect(creds.refused).toBe(0);
    expect(keys.size).toBeGreaterThanOrEqual(3);
    // renewed ahead of time: S3 never had to say ExpiredToken
    expect(rule.hits).toBe(0);
  } finally {
    clearTimeout(rotate);
    await creds.close();
  }
});

it('IRSA: web identity keys that S3 stops honouring early are renewed on ExpiredToken, not fatal', async () => {
  const tokenFile = path.join(h.base, 'irsa-token');
  await fsp.writeFile(tokenFile, 'web-identity-jwt');
  // announced for half a lifetime, honoured for a quarter: every key meets ExpiredToken
  const creds = await CredentialServer.start(h.server, {
    lifetimeMs: LIFETIME_MS / 2,
    honourMs: LIFETIME_MS / 4,
    token: () => 'web-identity-jwt',
  });
  try {
    const { keys, rule } = expireKeys(creds);
    const target = await h.newTarget();
    const run = await h.run({
      request: longRequest(),
      target,
      credentials: UNUSED,
      env: {
        ...NO_ENV_KEYS,
        ...LOOPBACK_ONLY,
        AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
        AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/kr',
        AWS_ROLE_SESSION_NAME: 'restore',
        AWS_ENDPOINT_URL_STS: creds.stsEndpoint,
      },
      timeoutMs: 3 * LIFETIME_MS + 60_000,
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded' });
    await expectLongRestored(target);
    expect(rule.hits).toBeGreaterThanOrEqual(1);
    expect(creds.issued.length).toBeGreaterThanOrEqual(3);
    expect(keys.size).toBeGreaterThanOrEqual(3);
    expect(
      run.lines.some(
        l => l.level === 'warn' && l.code === 'INVALID_CREDENTIALS',
      ),
    ).toBe(true);
  } finally {
    await creds.close();
  }
});

it('a static session token that expired: INVALID_CREDENTIALS at once, fatal, not retried', async () => {
  const creds = await CredentialServer.start(h.server, {
    lifetimeMs: 1,
    token: () => 'unused',
  });
  try {
    // keys from STS, given as static env credentials: nothing can renew them
    const res = await fetch(creds.containerUri, {
      headers: { authorization: 'unused' },
    });
    const issued = (await res.json()) as Record<string, string>;
    const { rule } = expireKeys(creds);
    const target = await h.newTarget();
    const run = await h.run({
      request: h.request({ prefix: 'short/' }),
      target,
      credentials: {
        accessKeyId: issued.AccessKeyId,
        secretAccessKey: issued.SecretAccessKey,
      },
      env: { AWS_SESSION_TOKEN: issued.Token },
    });
    expect(run.termination).toMatchObject({
      phase: 'Failed',
      code: 'INVALID_CREDENTIALS',
    });
    expect(run.termination!.message).toMatch(/^ExpiredToken/);
    expect(run.code).toBe(EXIT_CODE_FATAL);
    expect(rule.hits).toBe(1);
  } finally {
    await creds.close();
  }
});
