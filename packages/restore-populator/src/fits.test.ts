/**
 * sourceFits against a loopback endpoint that accepts connections and never answers: a source with
 * keys is sized within the populator's deadline and fails with a clear timeout (reconcile.ts then
 * logs "not sized" and the Job's NO_SPACE check guards); a source whose credentials are the Job's
 * is not sized at all, and nothing connects to its endpoint.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { parseRestoreRequest } from '@kube-restore/common';
import { deadline } from '@kube-restore/core';
import { sourceFits } from './fits';

let server: net.Server;
const sockets = new Set<net.Socket>();
let connections = 0;
let endpoint: string;

beforeAll(async () => {
  server = net.createServer(socket => {
    connections++;
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

beforeEach(() => {
  connections = 0;
});

function request(credentials: Record<string, string>) {
  return parseRestoreRequest({
    source: { bucket: 'silent', prefix: 'p/', endpoint, pathStyle: true },
    target: { namespace: 'ns', pvc: 'data', size: '1Gi' },
    credentials,
  });
}
const pvc = { name: 'data', storage: '1Gi' };

it('a source that never answers is not sized past the deadline', async () => {
  const fit = sourceFits(
    request({ type: 'secret', secretName: 's3' }),
    { accessKeyId: 'AKEXAMPLE', secretAccessKey: 'secret' },
    pvc,
    { signal: deadline(300) },
  );
  await expect(fit).rejects.toMatchObject({
    kind: 'Unavailable',
    message:
      'timed out after 0.3 s reading bucket "silent": the S3 server did not answer',
  });
  expect(connections).toBeGreaterThan(0);
});

it("credentials that are the Job's are not sized, and nothing is asked of S3", async () => {
  const fit = await sourceFits(
    request({ type: 'nodeIdentity' }),
    undefined,
    pvc,
    {
      signal: deadline(300),
    },
  );
  expect(fit).toEqual({
    fits: undefined,
    why: "credentials of type nodeIdentity are the Job's, not the populator's",
  });
  expect(connections).toBe(0);
});
