import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import nodePath from 'node:path';
import tls from 'node:tls';
import { Pki } from '@kube-restore/test-cluster';
import {
  BODY_CHUNK_BYTES,
  HttpResponse,
  isAnswerTimeout,
  KeepAliveHttpClient,
  recycleBodyChunks,
} from './keepAliveHttp';

/** Calls `onHead` with each request head (up to its blank line) the socket receives, in order. */
function onRequestHeads(
  socket: net.Socket,
  onHead: (head: string) => void,
): void {
  let pending = '';
  socket.on('data', d => {
    pending += d.toString('latin1');
    for (;;) {
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) break;
      const head = pending.slice(0, end);
      pending = pending.slice(end + 4);
      onHead(head);
    }
  });
}

/** A raw TCP server whose answers the test writes byte for byte. */
async function rawServer(
  onRequest: (socket: net.Socket, head: string, index: number) => void,
): Promise<{
  port: number;
  connections: number;
  close(): Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  let requests = 0;
  const state = { port: 0, connections: 0 } as {
    port: number;
    connections: number;
    close(): Promise<void>;
  };
  const server = net.createServer(socket => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onRequestHeads(socket, head => onRequest(socket, head, requests++));
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as net.AddressInfo).port;
  state.close = () =>
    new Promise<void>(resolve => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return state;
}

function client(port: number, more: { timeoutMs?: number } = {}) {
  return new KeepAliveHttpClient({
    protocol: 'http:',
    hostname: '127.0.0.1',
    port,
    maxSockets: 2,
    timeoutMs: more.timeoutMs ?? 5000,
  });
}

const get = (c: KeepAliveHttpClient, path = '/k', signal?: AbortSignal) =>
  c.request({
    method: 'GET',
    path,
    headers: { host: '127.0.0.1' },
    signal,
  });

async function bodyOf(res: HttpResponse): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** A CA and a server certificate for 127.0.0.1, in a temporary directory removed by `cleanups`. */
async function testPki(cleanups: Array<() => unknown>) {
  const dir = await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'kr-kah-tls-'));
  cleanups.push(() => fsp.rm(dir, { recursive: true, force: true }));
  const pki = new Pki(nodePath.join(dir, 'pki'));
  await pki.init();
  const serving = await pki.issue({
    name: 's3',
    cn: 's3.test',
    ips: ['127.0.0.1'],
    usage: 'server',
  });
  return { serving, ca: Buffer.from(await fsp.readFile(pki.caFile)) };
}

describe('KeepAliveHttpClient', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A TLS server on loopback with `serving`'s certificate, closed after the test. */
  async function serveTls(
    serving: { cert: string; key: string },
    onSocket: (socket: tls.TLSSocket) => void,
  ): Promise<{ server: tls.Server; port: number }> {
    const server = tls.createServer(
      { cert: serving.cert, key: serving.key },
      onSocket,
    );
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>(r => server.close(() => r())));
    return { server, port: (server.address() as net.AddressInfo).port };
  }

  /** A pool for `port` over TLS, trusting `ca` when given, destroyed after the test. */
  function httpsClient(
    port: number,
    maxSockets: number,
    ca?: Buffer,
  ): KeepAliveHttpClient {
    const c = new KeepAliveHttpClient({
      protocol: 'https:',
      hostname: '127.0.0.1',
      port,
      maxSockets,
      timeoutMs: 5000,
      ...(ca ? { ca } : {}),
    });
    cleanups.push(() => c.destroy());
    return c;
  }

  it('reads Content-Length bodies and reuses the connection', async () => {
    const server = await rawServer((s, head) => {
      const body = head.split(' ')[1];
      s.write(
        `HTTP/1.1 200 OK\r\nETag: "x"\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
    });
    cleanups.push(() => server.close());
    const c = client(server.port);
    cleanups.push(() => c.destroy());
    for (const path of ['/first', '/second', '/third']) {
      const res = await get(c, path);
      expect(res.statusCode).toBe(200);
      expect(res.headers.etag).toBe('"x"');
      expect((await bodyOf(res)).toString()).toBe(path);
      expect(res.complete).toBe(true);
    }
    expect(server.connections).toBe(1);
  });

  it('decodes chunked bodies split across reads at every byte', async () => {
    const wire =
      'HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '5;ext=1\r\n<Erro\r\n' +
      'a\r\nr>NoSuchKe\r\n' +
      '2\r\ny<\r\n0\r\nX-Trailer: 1\r\n\r\n';
    const server = await rawServer(async s => {
      for (const ch of wire) {
        s.write(ch, 'latin1');
        await new Promise(r => setImmediate(r));
      }
    });
    cleanups.push(() => server.close());
    const c = client(server.port);
    cleanups.push(() => c.destroy());
    const res = await get(c);
    expect(res.statusCode).toBe(404);
    expect((await bodyOf(res)).toString()).toBe('<Error>NoSuchKey<');
    // the connection is whole again: a second request on it works
    const again = await get(c);
    expect((await bodyOf(again)).toString()).toBe('<Error>NoSuchKey<');
    expect(server.connections).toBe(1);
  });

  it('delivers a large body intact in chunks of at most 1 MiB', async () => {
    const data = Buffer.alloc(5 * BODY_CHUNK_BYTES + 12344);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(i, i);
    const server = await rawServer(s => {
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${data.length}\r\n\r\n`);
      s.write(data);
    });
    cleanups.push(() => server.close());
    const c = client(server.port);
    cleanups.push(() => c.destroy());
    const res = await get(c);
    const hash = createHash('md5');
    let largest = 0;
    for await (const chunk of res) {
      largest = Math.max(largest, chunk.length);
      hash.update(chunk);
      // slow reader: backpressure must not lose or reorder bytes
      await new Promise(r => setTimeout(r, 5));
      recycleBodyChunks([chunk]);
    }
    expect(largest).toBeLessThanOrEqual(BODY_CHUNK_BYTES);
    expect(hash.digest('hex')).toBe(
      createHash('md5').update(data).digest('hex'),
    );
  });

  it('fails a body cut short by the server with ECONNRESET', async () => {
    const server = await rawServer(s => {
      // closed once the part is flushed
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part', () =>
        s.destroy(),
      );
    });
    cleanups.push(() => server.close());
    const c = client(server.port);
    cleanups.push(() => c.destroy());
    const res = await get(c);
    await expect(bodyOf(res)).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(res.complete).toBe(false);
  });

  it('reads a body without a length to the end of the connection', async () => {
    const server = await rawServer(s => {
      s.end('HTTP/1.0 200 OK\r\n\r\nuntil close');
    });
    cleanups.push(() => server.close());
    const c = client(server.port);
    cleanups.push(() => c.destroy());
    const res = await get(c);
    expect((await bodyOf(res)).toString()).toBe('until close');
    expect(res.complete).toBe(true);
  });

  it('does not keep a full-size chunk alive behind a small body without a length', async () => {
    const body = Buffer.alloc(4096, 7);
    const server = await rawServer((s, _head, index) => {
      if (index === 0)
        s.write(
          Buffer.concat([
            Buffer.from(
              'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n',
            ),
            body,
            Buffer.from('\r\n0\r\n\r\n'),
          ]),
        );
      else s.end(Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\n\r\n'), body]));
    });
    cleanups.push(() => server.close());
    const c = client(server.port);
    cleanups.push(() => c.destroy());
    for (let i = 0; i < 2; i++) {
      const chunks: Buffer[] = [];
      for await (const chunk of await get(c)) chunks.push(chunk);
      expect(Buffer.concat(chunks).equals(body)).toBe(true);
      // what the reader holds is the body's size, not a 1 MiB chunk around it
      for (const chunk of chunks)
        expect(chunk.buffer.byteLength).toBeLessThan(64 * 1024);
    }
  });

  it('reads a body without a length into chunks that grow from 64 KiB, whole', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) % 251;
    const server = await rawServer(s => {
      s.end(Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\n\r\n'), body]));
    });
    cleanups.push(() => server.close());
    const c = client(server.port);
    cleanups.push(() => c.destroy());
    const chunks: Buffer[] = [];
    for await (const chunk of await get(c)) chunks.push(chunk);
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
    // a body being read holds 64 KiB at first, not a full 1 MiB chunk; later chunks grow to it
    expect(chunks[0].buffer.byteLength).toBeLessThanOrEqual(64 * 1024);
    expect(Math.max(...chunks.map(b => b.buffer.byteLength))).toBe(1024 * 1024);
  });

  it('retries once on a fresh connection when a reused one was closed by the server', async () => {
    const seen: number[] = [];
    const server = await rawServer((s, _head, index) => {
      seen.push(index);
      // the server closes the kept-alive connection as the second request arrives on it (its
      // keep-alive timeout racing the client): the client must resend it on a new connection
      if (index === 1) s.destroy();
      else s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    cleanups.push(() => server.close());
    const c = client(server.port);
    cleanups.push(() => c.destroy());
    expect((await bodyOf(await get(c))).toString()).toBe('ok');
    expect((await bodyOf(await get(c))).toString()).toBe('ok');
    expect(seen).toEqual([0, 1, 2]);
    expect(server.connections).toBe(2);
  });

  it('does not retry a fresh connection that fails before answering', async () => {
    const server = await rawServer(s => s.destroy());
    cleanups.push(() => server.close());
    const c = client(server.port);
    cleanups.push(() => c.destroy());
    await expect(get(c)).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(server.connections).toBe(1);
  });

  it('times out a stalled body with ETIMEDOUT', async () => {
    const server = await rawServer(s => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    });
    cleanups.push(() => server.close());
    const c = client(server.port, { timeoutMs: 200 });
    cleanups.push(() => c.destroy());
    const res = await get(c);
    await expect(bodyOf(res)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });

  it('gives up on a request with no answer within answerWithinMs, and only on that wait', async () => {
    // the first request is never answered (lost on the way, or dropped by the server); the
    // second gets its head at once, then its body after a pause longer than the answer wait
    const server = await rawServer((s, _head, index) => {
      if (index === 0) return;
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab');
      setTimeout(() => s.write('cd'), 400);
    });
    cleanups.push(() => server.close());
    const c = client(server.port, { timeoutMs: 5000 });
    cleanups.push(() => c.destroy());
    const started = performance.now();
    const lost = c.request({
      method: 'GET',
      path: '/lost',
      headers: { host: '127.0.0.1' },
      answerWithinMs: 150,
    });
    await expect(lost).rejects.toMatchObject({
      code: 'ETIMEDOUT',
      message: 'no answer from the S3 endpoint within 0.15 s',
    });
    expect(isAnswerTimeout(await lost.catch((e: unknown) => e))).toBe(true);
    expect(performance.now() - started).toBeLessThan(2000);
    const slowBody = await c.request({
      method: 'GET',
      path: '/slow-body',
      headers: { host: '127.0.0.1' },
      answerWithinMs: 150,
    });
    expect((await bodyOf(slowBody)).toString()).toBe('abcd');
  });

  it('hands a request that ran out of its answer wait on a reused connection to the caller, not to a fresh connection', async () => {
    const server = await rawServer((s, _head, index) => {
      if (index === 0)
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      // the second request, on the kept-alive connection, is never answered
    });
    cleanups.push(() => server.close());
    const c = client(server.port, { timeoutMs: 5000 });
    cleanups.push(() => c.destroy());
    expect((await bodyOf(await get(c))).toString()).toBe('ok');
    await expect(
      c.request({
        method: 'GET',
        path: '/lost',
        headers: { host: '127.0.0.1' },
        answerWithinMs: 150,
      }),
    ).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    // no transparent retry on a new connection
    expect(server.connections).toBe(1);
  });

  it('aborts a request waiting for its head, and one queued for a connection', async () => {
    const server = await rawServer(() => undefined); // never answers
    cleanups.push(() => server.close());
    const c = client(server.port);
    cleanups.push(() => c.destroy());
    const ac = new AbortController();
    const pending = [get(c, '/1', ac.signal), get(c, '/2', ac.signal)];
    const queued = get(c, '/3', ac.signal); // maxSockets 2: waits
    ac.abort();
    for (const p of [...pending, queued])
      await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('refuses header values with CR or LF before sending anything', async () => {
    const server = await rawServer(() => undefined);
    cleanups.push(() => server.close());
    const c = client(server.port);
    cleanups.push(() => c.destroy());
    await expect(
      c.request({
        method: 'GET',
        path: '/k',
        headers: { host: 'x', range: 'bytes=0-1\r\nX-Evil: 1' },
      }),
    ).rejects.toThrow(/invalid HTTP header "range"/);
    expect(server.connections).toBe(0);
  });

  it('answers a HEAD without waiting for a body', async () => {
    const server = await rawServer(s => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n');
    });
    cleanups.push(() => server.close());
    const c = client(server.port);
    cleanups.push(() => c.destroy());
    const res = await c.request({
      method: 'HEAD',
      path: '/k',
      headers: { host: 'x' },
    });
    expect(res.headers['content-length']).toBe('1048576');
    expect(res.complete).toBe(true);
    expect((await bodyOf(res)).length).toBe(0);
  });

  it('reads over TLS into its own buffers, intact behind a slow reader, and reuses the connection', async () => {
    const { serving, ca } = await testPki(cleanups);
    const data = Buffer.alloc(6 * BODY_CHUNK_BYTES + 777);
    for (let i = 0; i + 4 <= data.length; i += 4) data.writeUInt32LE(i, i);
    let connections = 0;
    const { port } = await serveTls(serving, socket => {
      connections++;
      socket.on('error', () => undefined);
      onRequestHeads(socket, () => {
        socket.write(
          `HTTP/1.1 200 OK\r\nContent-Length: ${data.length}\r\n\r\n`,
        );
        socket.write(data);
      });
    });
    const c = httpsClient(port, 1, ca);
    const want = createHash('md5').update(data).digest('hex');
    for (const slow of [true, false]) {
      const res = await get(c);
      const hash = createHash('md5');
      let largest = 0;
      for await (const chunk of res) {
        largest = Math.max(largest, chunk.length);
        hash.update(chunk);
        if (slow) await new Promise(r => setTimeout(r, 5));
        recycleBodyChunks([chunk]);
      }
      expect(largest).toBeLessThanOrEqual(BODY_CHUNK_BYTES);
      expect(hash.digest('hex')).toBe(want);
    }
    expect(connections).toBe(1);
  });

  it('resumes the TLS session of its first connection on the next ones', async () => {
    const { serving, ca } = await testPki(cleanups);
    const handshakes: boolean[] = [];
    const { port } = await serveTls(serving, socket => {
      handshakes.push(socket.isSessionReused());
      socket.on('error', () => undefined);
      onRequestHeads(socket, () =>
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
      );
    });
    const c = httpsClient(port, 3, ca);
    expect((await bodyOf(await get(c))).toString()).toBe('ok');
    // Three at once: the idle connection takes one, two new ones open with the first's ticket.
    const bodies = await Promise.all(
      [1, 2, 3].map(async () => (await bodyOf(await get(c))).toString()),
    );
    expect(bodies).toEqual(['ok', 'ok', 'ok']);
    expect(handshakes).toEqual([false, true, true]);
  });

  it('preconnect opens its connections once one is up; the requests after it find them ready', async () => {
    const server = await rawServer(s =>
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
    );
    cleanups.push(() => server.close());
    const c = new KeepAliveHttpClient({
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: server.port,
      maxSockets: 8,
      timeoutMs: 5000,
    });
    cleanups.push(() => c.destroy());
    c.preconnect(3);
    // nothing opens before a first connection
    await new Promise(r => setTimeout(r, 50));
    expect(server.connections).toBe(0);
    expect((await bodyOf(await get(c))).toString()).toBe('ok');
    for (let i = 0; i < 100 && server.connections < 4; i++)
      await new Promise(r => setTimeout(r, 10));
    expect(server.connections).toBe(4);
    const bodies = await Promise.all(
      [1, 2, 3, 4].map(async () => (await bodyOf(await get(c))).toString()),
    );
    expect(bodies).toEqual(['ok', 'ok', 'ok', 'ok']);
    // no fifth connection: the four requests ran on the first and the three opened ahead
    expect(server.connections).toBe(4);
  });

  it('preconnect over TLS waits for the first session ticket: the connections it opens resume it', async () => {
    const { serving, ca } = await testPki(cleanups);
    const handshakes: boolean[] = [];
    const { port } = await serveTls(serving, socket => {
      handshakes.push(socket.isSessionReused());
      socket.on('error', () => undefined);
      onRequestHeads(socket, () =>
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
      );
    });
    const c = httpsClient(port, 8, ca);
    c.preconnect(3);
    expect((await bodyOf(await get(c))).toString()).toBe('ok');
    for (let i = 0; i < 100 && handshakes.length < 4; i++)
      await new Promise(r => setTimeout(r, 10));
    expect(handshakes).toEqual([false, true, true, true]);
  });

  it('preconnect opens nothing when the first connection fails (an untrusted certificate)', async () => {
    const { serving } = await testPki(cleanups);
    let connections = 0;
    const { server, port } = await serveTls(serving, socket =>
      socket.destroy(),
    );
    server.on('connection', () => connections++);
    server.on('tlsClientError', () => undefined);
    const c = httpsClient(port, 8);
    c.preconnect(4);
    await expect(get(c)).rejects.toMatchObject({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
    await new Promise(r => setTimeout(r, 100));
    expect(connections).toBe(1);
  });

  it('falls back to a full handshake, checked, when the server no longer knows the ticket', async () => {
    const { serving, ca } = await testPki(cleanups);
    const handshakes: boolean[] = [];
    const serve = () =>
      tls.createServer({ cert: serving.cert, key: serving.key }, socket => {
        handshakes.push(socket.isSessionReused());
        socket.on('error', () => undefined);
        socket.once('data', () =>
          socket.end(
            'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok',
          ),
        );
      });
    const first = serve();
    await new Promise<void>(r => first.listen(0, '127.0.0.1', r));
    const port = (first.address() as net.AddressInfo).port;
    const c = new KeepAliveHttpClient({
      protocol: 'https:',
      hostname: '127.0.0.1',
      port,
      maxSockets: 1,
      timeoutMs: 5000,
      ca,
    });
    cleanups.push(() => c.destroy());
    expect((await bodyOf(await get(c))).toString()).toBe('ok');
    expect((await bodyOf(await get(c))).toString()).toBe('ok');
    await new Promise<void>(r => first.close(() => r()));
    // A new server on the same port: new ticket keys, so the ticket is refused.
    const second = serve();
    await new Promise<void>(r => second.listen(port, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>(r => second.close(() => r())));
    expect((await bodyOf(await get(c))).toString()).toBe('ok');
    expect(handshakes).toEqual([false, true, false]);
  });
});
