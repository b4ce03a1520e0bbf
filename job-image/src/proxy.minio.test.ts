/**
 * HTTP(S)_PROXY and NO_PROXY, end to end through the bundle: MinIO behind the fault proxy, over HTTPS
 * with a throw-away CA and over plain HTTP, reached through a forward proxy on loopback
 * (__testUtils__/connectProxy.ts). The endpoints name 127.0.0.2, where nothing listens: only the
 * proxy knows the way, so a restore that succeeds sent every request (the SDK's listing and the lean
 * GETs, ranged ones too) through it.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT_CODE_FATAL, RestoreRequestInput } from '@kube-restore/common';
import { Pki } from '@kube-restore/test-cluster';
import { ConnectProxy } from './__testUtils__/connectProxy';
import { FaultProxy } from './__testUtils__/faultProxy';
import { body, md5 } from './__testUtils__/harness';
import { readTree, runJob } from './__testUtils__/job';
import { MinioServer, startMinio } from './__testUtils__/minio';

jest.setTimeout(120_000);

const MiB = 1024 * 1024;
let minio: MinioServer;
let tlsS3: FaultProxy;
/** Serves a certificate of the same CA that names only DNS:localhost, no IP. */
let localhostOnlyS3: FaultProxy;
let plainS3: FaultProxy;
let base: string;
let caFile: string;
let n = 0;

const large = body(3, 7 * MiB);

/** Large objects as parallel ranged GETs too. */
const RANGED = {
  parts: { minObjectSize: '6Mi', size: '5Mi' },
};

beforeAll(async () => {
  base = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-proxy-'));
  const pki = new Pki(path.join(base, 'pki'));
  await pki.init();
  const serving = await pki.issue({
    name: 's3',
    cn: 's3.test',
    ips: ['127.0.0.1', '127.0.0.2'],
    dns: ['localhost'],
    usage: 'server',
  });
  const localhostOnly = await pki.issue({
    name: 'localhost-only',
    cn: 'localhost',
    dns: ['localhost'],
    usage: 'server',
  });
  caFile = pki.caFile;
  minio = await startMinio();
  tlsS3 = await FaultProxy.start(minio.endpoint, {
    tls: { cert: serving.cert, key: serving.key },
  });
  localhostOnlyS3 = await FaultProxy.start(minio.endpoint, {
    tls: { cert: localhostOnly.cert, key: localhostOnly.key },
  });
  plainS3 = await FaultProxy.start(minio.endpoint);
  await minio.createBucket('src');
  await minio.put('src', 'data/small.txt', 'through a proxy\n');
  await minio.put('src', 'data/large.bin', large);
});

afterAll(async () => {
  await tlsS3?.close();
  await localhostOnlyS3?.close();
  await plainS3?.close();
  await minio?.stop();
  if (base) await fsp.rm(base, { recursive: true, force: true });
});

async function restore(endpoint: string, env: Record<string, string>) {
  const target = path.join(base, `t${++n}`);
  await fsp.mkdir(target);
  const request: RestoreRequestInput = {
    name: `px${n}`,
    source: { endpoint, bucket: 'src', prefix: 'data/' },
    target: { namespace: 'team-a', pvc: 'data' },
  };
  const run = await runJob({
    request,
    target,
    credentials: {
      accessKeyId: minio.accessKey,
      secretAccessKey: minio.secretKey,
    },
    env,
    options: RANGED,
  });
  return { run, target };
}

async function expectRestored(target: string) {
  const tree = await readTree(target);
  expect(tree.get('small.txt')?.toString()).toBe('through a proxy\n');
  expect(md5(tree.get('large.bin')!)).toBe(md5(large));
}

/** Routes 127.0.0.2:port (nothing there) to the fault proxy on 127.0.0.1:port. */
const routesTo = (...servers: FaultProxy[]) =>
  Object.fromEntries(
    servers.map(s => [`127.0.0.2:${s.port}`, `127.0.0.1:${s.port}`]),
  );

it('over HTTPS with a private CA: every request through CONNECT tunnels of HTTPS_PROXY', async () => {
  const proxy = await ConnectProxy.start(routesTo(tlsS3));
  try {
    const { run, target } = await restore(`https://127.0.0.2:${tlsS3.port}`, {
      HTTPS_PROXY: proxy.url,
      AWS_CA_BUNDLE: caFile,
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 2 });
    await expectRestored(target);
    expect(proxy.seen.length).toBeGreaterThan(0);
    expect(new Set(proxy.seen)).toEqual(
      new Set([`CONNECT 127.0.0.2:${tlsS3.port}`]),
    );
    // the listing (SDK), the small GET and the ranged parts all came out of the tunnels
    const log = tlsS3.log.map(l => `${l.method} ${l.key ?? ''} ${l.query}`);
    expect(log.some(l => l.includes('list-type=2'))).toBe(true);
    expect(log.filter(l => l.startsWith('GET data/large.bin')).length).toBe(2);
    expect(log.some(l => l.startsWith('GET data/small.txt'))).toBe(true);
  } finally {
    await proxy.close();
  }
});

it('over HTTP: absolute-form requests to HTTP_PROXY, with the credentials in its URL', async () => {
  const proxy = await ConnectProxy.start(routesTo(plainS3), 'kr:s3cret');
  try {
    const endpoint = `http://127.0.0.2:${plainS3.port}`;
    const { run, target } = await restore(endpoint, {
      HTTP_PROXY: `http://kr:s3cret@127.0.0.1:${proxy.port}`,
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 2 });
    await expectRestored(target);
    expect(proxy.seen.every(l => l.includes(` ${endpoint}/src`))).toBe(true);
    expect(proxy.seen.some(l => l.includes('list-type=2'))).toBe(true);
    expect(
      proxy.seen.filter(l => l === `GET ${endpoint}/src/data/large.bin`),
    ).toHaveLength(2);
    // the proxy's password never reaches the output
    expect(run.stdout + run.terminationRaw).not.toContain('s3cret');
  } finally {
    await proxy.close();
  }
});

it('NO_PROXY: a matching endpoint is reached directly (lower-case variables too)', async () => {
  const proxy = await ConnectProxy.start({});
  try {
    const { run, target } = await restore(`https://127.0.0.1:${tlsS3.port}`, {
      https_proxy: proxy.url,
      no_proxy: 'example.com, 127.0.0.1',
      AWS_CA_BUNDLE: caFile,
    });
    expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 2 });
    await expectRestored(target);
    expect(proxy.seen).toEqual([]);
  } finally {
    await proxy.close();
  }
});

it('a proxy that wants credentials it was not given: INVALID_CREDENTIALS, fatal, saying where they go', async () => {
  const proxy = await ConnectProxy.start(routesTo(tlsS3), 'kr:s3cret');
  try {
    const { run } = await restore(`https://127.0.0.2:${tlsS3.port}`, {
      HTTPS_PROXY: proxy.url,
      AWS_CA_BUNDLE: caFile,
    });
    expect(run.termination).toMatchObject({
      phase: 'Failed',
      code: 'INVALID_CREDENTIALS',
    });
    expect(run.termination!.message).toMatch(
      /^the HTTP proxy asks for credentials \(407\)/,
    );
    expect(run.code).toBe(EXIT_CODE_FATAL);
  } finally {
    await proxy.close();
  }
});

it('an endpoint given by IP address is checked against that address through the tunnel as directly', async () => {
  // The certificate is the CA's but names only DNS:localhost: for https://127.0.0.1 it is the
  // wrong certificate (a man in the middle's), whichever way the connection goes.
  const endpoint = `https://127.0.0.1:${localhostOnlyS3.port}`;
  const proxy = await ConnectProxy.start({});
  try {
    const envs: Array<Record<string, string>> = [
      { HTTPS_PROXY: proxy.url, AWS_CA_BUNDLE: caFile },
      { AWS_CA_BUNDLE: caFile },
    ];
    for (const env of envs) {
      localhostOnlyS3.log.length = 0;
      const { run, target } = await restore(endpoint, env);
      expect(run.termination).toMatchObject({
        phase: 'Failed',
        code: 'UNTRUSTED_CERTIFICATE',
      });
      expect(run.termination!.message).toMatch(
        /^the S3 endpoint's TLS certificate is not trusted \(ERR_TLS_CERT_ALTNAME_INVALID: [^)]*IP: 127\.0\.0\.1 is not in the cert's list/,
      );
      expect(run.code).toBe(EXIT_CODE_FATAL);
      expect(localhostOnlyS3.log).toEqual([]);
      expect((await readTree(target)).size).toBe(0);
    }
    // the first run did go through the proxy
    expect(proxy.seen).toContain(`CONNECT 127.0.0.1:${localhostOnlyS3.port}`);
  } finally {
    await proxy.close();
  }
});
