/**
 * An HTTP proxy in front of the S3 server that counts requests: LIST (GET on the bucket itself,
 * path-style) and object GETs. Headers and bodies pass unchanged (the Host header too, so SigV4
 * signatures still match), over keep-alive connections to the server.
 */
import * as http from 'node:http';
import * as net from 'node:net';

export interface RequestCounts {
  list: number;
  get: number;
  other: number;
}

/** What kind of request `method url` is for `bucket` (path-style addressing). */
export function requestKind(
  method: string,
  url: string,
  bucket: string,
): keyof RequestCounts {
  const pathname = url.split('?')[0];
  if (
    method === 'GET' &&
    (pathname === `/${bucket}` || pathname === `/${bucket}/`)
  )
    return 'list';
  if (method === 'GET' && pathname.startsWith(`/${bucket}/`)) return 'get';
  return 'other';
}

export interface CountingProxy {
  endpoint: string;
  counts: RequestCounts;
  reset(): void;
  stop(): Promise<void>;
}

export function startCountingProxy(
  upstreamPort: number,
  bucket: string,
): Promise<CountingProxy> {
  const counts: RequestCounts = { list: 0, get: 0, other: 0 };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    counts[requestKind(req.method ?? '', req.url ?? '', bucket)]++;
    const up = http.request(
      {
        host: '127.0.0.1',
        port: upstreamPort,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      upRes => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', e => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(up);
  });
  server.on('connection', s => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({
        endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
        counts,
        reset() {
          counts.list = counts.get = counts.other = 0;
        },
        stop: () =>
          new Promise<void>(done => {
            for (const s of sockets) s.destroy();
            agent.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
