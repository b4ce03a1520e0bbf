/**
 * Core's S3 calls against an endpoint that accepts TCP connections and never answers (a loopback
 * server that reads and says nothing): sizing and a shard-bounds listing end, with an Unavailable
 * error that says they timed out and which bucket, by the client's request timeout or by the
 * caller's deadline; a create's bounds listing past the caller's deadline ends the create.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { parseRestoreRequest } from '@kube-restore/common';
import { deadline } from './deadline';
import { RestoreError } from './errors';
import { buildRestoreManifests } from './manifests';
import { sizeSource } from './s3';
import { listShardBounds, withShardBounds } from './shardBounds';

let server: net.Server;
const sockets = new Set<net.Socket>();
let endpoint: string;

beforeAll(async () => {
  server = net.createServer(socket => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.resume(); // reads the request, never answers
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>(resolve => server.close(() => resolve()));
});

const keys = { accessKeyId: 'AKEXAMPLE', secretAccessKey: 'secret' };
/** Short ones, so the test takes a second or two; the defaults are DEFAULT_S3_TIMEOUTS. */
const timeouts = { connectionMs: 500, requestMs: 300 };
/** Long enough that only the caller's deadline can end a call. */
const patient = { connectionMs: 60_000, requestMs: 60_000 };

function silentRequest() {
  return parseRestoreRequest({
    source: { bucket: 'silent', prefix: 'p/', endpoint, pathStyle: true },
    target: { namespace: 'ns', pvc: 'data', size: '1Gi' },
    options: { parallelism: 4 },
  });
}

async function failure(p: Promise<unknown>): Promise<RestoreError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RestoreError);
  return error as RestoreError;
}

it('sizeSource ends at the client request timeout with a clear error', async () => {
  const error = await failure(
    sizeSource(silentRequest().source, { credentials: keys, timeouts }),
  );
  expect(error.kind).toBe('Unavailable');
  expect(error.message).toBe(
    'timed out after 0.3 s reading bucket "silent": the S3 server did not answer',
  );
});

it("sizeSource ends at the caller's deadline, which it names", async () => {
  const error = await failure(
    sizeSource(silentRequest().source, {
      credentials: keys,
      timeouts: patient,
      signal: deadline(400),
    }),
  );
  expect(error.kind).toBe('Unavailable');
  expect(error.message).toBe(
    'timed out after 0.4 s reading bucket "silent": the S3 server did not answer',
  );
});

it("listShardBounds ends at the caller's deadline with the same error", async () => {
  const error = await failure(
    listShardBounds(silentRequest().source, 4, {
      credentials: keys,
      timeouts: patient,
      signal: AbortSignal.any([new AbortController().signal, deadline(400)]),
    }),
  );
  expect(error.kind).toBe('Unavailable');
  expect(error.message).toMatch(
    /^timed out after 0\.4 s reading bucket "silent"/,
  );
});

it("a create's bounds listing past the caller's deadline ends the create", async () => {
  const request = silentRequest();
  const error = await failure(
    withShardBounds(request, buildRestoreManifests(request), {
      credentials: keys,
      timeouts: patient,
      signal: deadline(400),
    }),
  );
  expect(error.kind).toBe('Unavailable');
  expect(error.message).toMatch(/timed out after 0\.4 s/);
});

it('a caller that gives up is told so, not that S3 timed out', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  const error = await failure(
    sizeSource(silentRequest().source, {
      credentials: keys,
      timeouts: patient,
      signal: controller.signal,
    }),
  );
  expect(error.message).toBe('reading bucket "silent" was cancelled');
});
