/**
 * A forward HTTP proxy on loopback, as companies put between clusters and S3: CONNECT tunnels (for
 * https endpoints) and absolute-form requests (`GET http://host/...`, for http ones), optionally
 * asking for Basic credentials (407). `routes` maps the host:port a client asks for to where the
 * proxy really connects, so that a test endpoint can name an address only the proxy can reach
 * (127.0.0.2, where nothing listens): a request that bypassed the proxy fails.
 */
import http from 'node:http';
import net from 'node:net';

export class ConnectProxy {
  /** `CONNECT host:port` and `METHOD http://host:port/...` lines as received. */
  readonly seen: string[] = [];
  private readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly agent = new http.Agent({ keepAlive: true });
  port = 0;

  constructor(
    private readonly routes: Record<string, string>,
    private readonly credentials?: string,
  ) {
    this.server = http.createServer((req, res) => this.forward(req, res));
    this.server.on('connect', (req, socket: net.Socket, head) =>
      this.tunnel(req, socket, head),
    );
    this.server.on('connection', s => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(
    routes: Record<string, string>,
    credentials?: string,
  ): Promise<ConnectProxy> {
    const proxy = new ConnectProxy(routes, credentials);
    await new Promise<void>(resolve =>
      proxy.server.listen(0, '127.0.0.1', resolve),
    );
    proxy.port = (proxy.server.address() as net.AddressInfo).port;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private route(authority: string): { host: string; port: number } {
    const to = this.routes[authority] ?? authority;
    const i = to.lastIndexOf(':');
    return { host: to.slice(0, i), port: Number(to.slice(i + 1)) };
  }

  private authorized(req: http.IncomingMessage): boolean {
    if (!this.credentials) return true;
    return (
      req.headers['proxy-authorization'] ===
      `Basic ${Buffer.from(this.credentials).toString('base64')}`
    );
  }

  private tunnel(req: http.IncomingMessage, client: net.Socket, head: Buffer) {
    this.seen.push(`CONNECT ${req.url}`);
    if (!this.authorized(req)) {
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="kr"\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    const { host, port } = this.route(req.url ?? '');
    const upstream = net.connect({ host, port }, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () =>
      client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n'),
    );
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse) {
    this.seen.push(`${req.method} ${req.url}`);
    if (!this.authorized(req)) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="kr"' });
      res.end();
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('not a proxy request');
      return;
    }
    const { host, port } = this.route(url.host);
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const upstream = http.request(
      {
        host,
        port,
        method: req.method,
        path: `${url.pathname}${url.search}`,
        headers,
        agent: this.agent,
      },
      up => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.agent.destroy();
    await new Promise<void>(resolve => this.server.close(() => resolve()));
  }
}
