/**
 * An S3 endpoint behind TLS with a private CA: MinIO behind an HTTPS proxy on loopback whose
 * certificate comes from a throw-away CA (the harness's openssl PKI). With the CA bundle in
 * AWS_CA_BUNDLE (what core sets from the request's `source.caBundle` ConfigMap) the restore succeeds,
 * listing, plain GETs and ranged GETs alike; without it, it fails at once with a message that says
 * what to configure. The bodies come through the TLS socket's `onread` path (socketRead.ts), not as
 * 'data' events: a probe preloaded into the job's process (tlsReads.ts) records how each TLS socket
 * was read.
 */
import { promises as fsp } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { EXIT_CODE_FATAL, RestoreRequestInput } from '@kube-restore/common';
import { Pki } from '@kube-restore/test-cluster';
import { FaultProxy } from './__testUtils__/faultProxy';
import { readTree, runJob } from './__testUtils__/job';
import { tlsReadProbe } from './__testUtils__/tlsReads';
import { MinioServer, startMinio } from './__testUtils__/minio';

jest.setTimeout(120_000);

const MiB = 1024 * 1024;
let minio: MinioServer;
let proxy: FaultProxy;
let base: string;
let pki: Pki;
let n = 0;

const large = Buffer.alloc(7 * MiB, 'L');

async function newTarget(): Promise<string> {
  const dir = path.join(base, `t${++n}`);
  await fsp.mkdir(dir);
  return dir;
}

function request(endpoint = proxy.endpoint): RestoreRequestInput {
  return {
    name: `tls${n}`,
    source: { endpoint, bucket: 'src', prefix: 'data/' },
    target: { namespace: 'team-a', pvc: 'data' },
  };
}

const credentials = () => ({
  accessKeyId: minio.accessKey,
  secretAccessKey: minio.secretKey,
});

/** Large objects as parallel ranged GETs too (the lean GET path), not only the SDK's calls. */
const RANGED = {
  parts: { minObjectSize: '6Mi', size: '5Mi' },
};

beforeAll(async () => {
  base = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-tls-'));
  pki = new Pki(path.join(base, 'pki'));
  await pki.init();
  const serving = await pki.issue({
    name: 's3',
    cn: 's3.test',
    ips: ['127.0.0.1'],
    dns: ['localhost'],
    usage: 'server',
  });
  minio = await startMinio();
  proxy = await FaultProxy.start(minio.endpoint, {
    tls: { cert: serving.cert, key: serving.key },
  });
  await minio.createBucket('src');
  await minio.put('src', 'data/small.txt', 'over TLS\n');
  await minio.put('src', 'data/large.bin', large);
});

afterAll(async () => {
  await proxy?.close();
  await minio?.stop();
  if (base) await fsp.rm(base, { recursive: true, force: true });
});

it('the endpoint serves HTTPS with a certificate for 127.0.0.1 from the test CA', async () => {
  const ca = await fsp.readFile(pki.caFile);
  const { authorized, subject, status } = await new Promise<{
    authorized: boolean;
    subject: string;
    status: number | undefined;
  }>((resolve, reject) => {
    const req = https.get(
      `${proxy.endpoint}/src/data/small.txt`,
      { ca },
      res => {
        const socket = res.socket as TLSSocket;
        res.resume();
        resolve({
          authorized: socket.authorized,
          subject: String(socket.getPeerCertificate().subject.CN),
          status: res.statusCode,
        });
      },
    );
    req.on('error', reject);
  });
  expect({ authorized, subject }).toEqual({
    authorized: true,
    subject: 's3.test',
  });
  expect(status).toBe(403); // MinIO answered through it: an unsigned GET is refused
  // without the CA the same endpoint is not trusted
  await expect(
    new Promise((resolve, reject) =>
      https.get(proxy.endpoint, resolve).on('error', reject),
    ),
  ).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
});

it('with the CA bundle in AWS_CA_BUNDLE: lists, GETs and ranged GETs over TLS, and succeeds', async () => {
  const target = await newTarget();
  const probe = await tlsReadProbe(base, 'tls-sockets.jsonl');
  const run = await runJob({
    request: request(),
    target,
    credentials: credentials(),
    env: { AWS_CA_BUNDLE: pki.caFile, ...probe.env },
    nodeArgs: probe.nodeArgs,
    options: RANGED,
  });
  expect(run.termination).toMatchObject({ phase: 'Succeeded', objects: 2 });
  expect(run.code).toBe(0);
  const tree = await readTree(target);
  expect(tree.get('small.txt')!.toString()).toBe('over TLS\n');
  expect(tree.get('large.bin')!.equals(large)).toBe(true);
  // Every request went through the TLS proxy, the ranged parts of large.bin included.
  const gets = proxy.log.filter(r => r.method === 'GET' && r.key);
  expect(gets.filter(r => r.key === 'data/large.bin').length).toBe(2);
  expect(proxy.log.some(r => r.query.includes('list-type=2'))).toBe(true);
  // The bodies came through the TLS socket's `onread` path (socketRead.ts), never as 'data'
  // events: no socket that carried a GET of an object had a 'data' listener or emitted one.
  const sockets = await probe.sockets();
  const getting = sockets.filter(s =>
    s.requests.some(r => r.startsWith('GET /src/data/')),
  );
  expect(getting.length).toBeGreaterThan(0);
  for (const socket of getting)
    expect(socket).toMatchObject({
      onread: true,
      dataEvents: 0,
      dataBytes: 0,
      dataListeners: 0,
    });
  expect(getting.reduce((sum, s) => sum + s.onreadBytes, 0)).toBeGreaterThan(
    large.length,
  );
});

it('without it: fails at once, fatally, saying the certificate is not trusted and what to set', async () => {
  const target = await newTarget();
  proxy.log.length = 0;
  const connectionsBefore = proxy.connections;
  const run = await runJob({
    request: request(),
    target,
    credentials: credentials(),
  });
  expect(run.termination).toMatchObject({
    phase: 'Failed',
    code: 'UNTRUSTED_CERTIFICATE',
    failedPhase: 'Planning',
  });
  expect(run.termination?.message).toMatch(
    /^the S3 endpoint's TLS certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate[^)]*\); if the endpoint uses a private CA, give that CA's PEM bundle in source\.caBundle/,
  );
  expect(run.code).toBe(EXIT_CODE_FATAL);
  // Not retried: one connection, whose handshake failed, and no request ever reached the server.
  expect(proxy.connections - connectionsBefore).toBe(1);
  expect(proxy.log).toEqual([]);
  expect((await readTree(target)).size).toBe(0);
});

it('a CA bundle that is not the issuer is refused the same way', async () => {
  const other = new Pki(path.join(base, 'other-pki'));
  await other.init();
  const run = await runJob({
    request: request(),
    target: await newTarget(),
    credentials: credentials(),
    env: { AWS_CA_BUNDLE: other.caFile },
  });
  expect(run.termination).toMatchObject({ code: 'UNTRUSTED_CERTIFICATE' });
  expect(run.termination?.message).toContain(
    `the CA bundle in AWS_CA_BUNDLE (${other.caFile}) does not vouch for it`,
  );
  expect(run.code).toBe(EXIT_CODE_FATAL);
});

it('a CA bundle path that cannot be read is INVALID_REQUEST naming it', async () => {
  const missing = path.join(base, 'no-such-ca.crt');
  const run = await runJob({
    request: request(),
    target: await newTarget(),
    credentials: credentials(),
    env: { AWS_CA_BUNDLE: missing },
  });
  expect(run.termination).toMatchObject({ code: 'INVALID_REQUEST' });
  expect(run.termination?.message).toContain(missing);
  expect(run.code).toBe(EXIT_CODE_FATAL);
});
