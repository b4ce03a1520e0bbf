/**
 * A fault-injecting HTTP proxy on loopback in front of a real S3 server, for what a real server will not
 * do on demand: connections reset mid-object, 503 SlowDown storms, corrupted bytes, and archived
 * (Glacier) objects that need a RestoreObject and answer GETs with 403 InvalidObjectState until thawed.
 * Requests are forwarded byte for byte (the Host header too), so SigV4 signatures stay valid.
 * With `tls` it serves HTTPS (the upstream stays plain HTTP): an S3 endpoint behind a private CA.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

export interface ProxiedRequest {
  method: string;
  bucket?: string;
  key?: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
}

export type FaultAction =
  | {
      type: 'status';
      status: number;
      code: string;
      message?: string;
      /** Extra response headers, e.g. Retry-After. */
      headers?: Record<string, string>;
    }
  | { type: 'reset'; afterBytes: number }
  | { type: 'corrupt'; atByte?: number }
  | { type: 'stall'; afterBytes: number; ms: number }
  /** Forwards the request `ms` later; the body at `bytesPerSecond` when given (a far, slow link). */
  | { type: 'delay'; ms: number; bytesPerSecond?: number }
  /** Never answers (a request lost on the way): the connection stays open until the client drops it. */
  | { type: 'silence' };

export interface FaultRule {
  match: (req: ProxiedRequest) => boolean;
  action: FaultAction;
  /** Matching requests it applies to; afterwards it is spent. Default: all. */
  times?: number;
  /** Requests it applied to. */
  hits?: number;
}

interface ArchivedObject {
  storageClass: 'GLACIER' | 'DEEP_ARCHIVE';
  state: 'archived' | 'restoring' | 'restored';
  /** HEADs while restoring before it is restored. */
  headsUntilRestored: number;
  restoreRequests: number;
  tier?: string;
}

export class FaultProxy {
  readonly rules: FaultRule[] = [];
  readonly log: Array<{
    method: string;
    key?: string;
    query: string;
    status?: number;
    /** When the request arrived (performance.now()). */
    at: number;
    /** When the last byte of the response body was written to the client. */
    endedAt?: number;
  }> = [];
  readonly archived = new Map<string, ArchivedObject>();
  /** Rewrites listing bodies (ListObjectsV2, ListObjectVersions), e.g. to list a key no server stores. */
  rewriteListing?: (xml: string) => string;
  private readonly server: http.Server | https.Server;
  private readonly scheme: 'http' | 'https';
  private readonly agent = new http.Agent({ keepAlive: true });
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  /** TCP connections accepted so far (with TLS: before any handshake). */
  connections = 0;

  constructor(
    private readonly upstream: { host: string; port: number },
    tls?: { cert: string; key: string },
  ) {
    const handler: http.RequestListener = (req, res) => this.handle(req, res);
    this.scheme = tls ? 'https' : 'http';
    this.server = tls
      ? https.createServer({ cert: tls.cert, key: tls.key }, handler)
      : http.createServer(handler);
    this.server.on('connection', s => {
      this.connections++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  get endpoint(): string {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  static async start(
    upstreamEndpoint: string,
    options: { tls?: { cert: string; key: string } } = {},
  ): Promise<FaultProxy> {
    const url = new URL(upstreamEndpoint);
    const proxy = new FaultProxy(
      { host: url.hostname, port: Number(url.port) },
      options.tls,
    );
    await new Promise<void>(resolve =>
      proxy.server.listen(0, '127.0.0.1', resolve),
    );
    proxy.port = (proxy.server.address() as net.AddressInfo).port;
    return proxy;
  }

  add(rule: FaultRule): FaultRule {
    rule.hits = 0;
    this.rules.push(rule);
    return rule;
  }

  clear(): void {
    this.rules.length = 0;
    this.archived.clear();
    this.log.length = 0;
    this.rewriteListing = undefined;
  }

  /** Makes `key` look archived in `storageClass` until a RestoreObject and `heads` polls later. */
  archive(
    key: string,
    storageClass: 'GLACIER' | 'DEEP_ARCHIVE' = 'GLACIER',
    heads = 2,
  ): void {
    this.archived.set(key, {
      storageClass,
      state: 'archived',
      headsUntilRestored: heads,
      restoreRequests: 0,
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.agent.destroy();
    await new Promise<void>(resolve => this.server.close(() => resolve()));
  }

  private parse(req: http.IncomingMessage): ProxiedRequest {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const parts = url.pathname.split('/').slice(1);
    const bucket = parts[0] ? decodeURIComponent(parts[0]) : undefined;
    const rawKey = parts.slice(1).join('/');
    return {
      method: req.method ?? 'GET',
      bucket,
      key: rawKey ? decodeURIComponent(rawKey) : undefined,
      query: url.searchParams,
      headers: req.headers,
    };
  }

  private takeRule(p: ProxiedRequest): FaultRule | undefined {
    for (const rule of this.rules) {
      if (
        (rule.times === undefined || (rule.hits ?? 0) < rule.times) &&
        rule.match(p)
      ) {
        rule.hits = (rule.hits ?? 0) + 1;
        return rule;
      }
    }
    return undefined;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const p = this.parse(req);
    const entry: FaultProxy['log'][number] = {
      method: p.method,
      key: p.key,
      query: p.query.toString(),
      at: performance.now(),
    };
    this.log.push(entry);
    const sendError = (
      status: number,
      code: string,
      message = code,
      headers: Record<string, string> = {},
    ) => replyError(req, res, entry, { status, code, message, headers });

    // Archived objects.
    const archived = p.key !== undefined ? this.archived.get(p.key) : undefined;
    if (archived && p.method === 'POST' && p.query.has('restore')) {
      archived.restoreRequests++;
      let body = '';
      req.on('data', d => (body += d));
      req.on('end', () => {
        archived.tier = /<Tier>([^<]+)<\/Tier>/.exec(body)?.[1];
        if (archived.state === 'archived') {
          archived.state = 'restoring';
          entry.status = 202;
          res.writeHead(202, { 'content-length': 0 });
          res.end();
        } else if (archived.state === 'restoring') {
          sendError(
            409,
            'RestoreAlreadyInProgress',
            'Object restore is already in progress',
          );
        } else {
          entry.status = 200;
          res.writeHead(200, { 'content-length': 0 });
          res.end();
        }
      });
      return;
    }
    if (
      archived &&
      p.method === 'GET' &&
      archived.state !== 'restored' &&
      !p.query.has('uploads')
    ) {
      sendError(
        403,
        'InvalidObjectState',
        "The operation is not valid for the object's storage class",
      );
      return;
    }

    const rule = this.takeRule(p);
    if (rule?.action.type === 'status') {
      sendError(
        rule.action.status,
        rule.action.code,
        rule.action.message,
        rule.action.headers,
      );
      return;
    }

    const forward = () => this.forward(req, res, p, entry, rule, archived);
    if (rule?.action.type === 'silence') return;
    if (rule?.action.type === 'delay') setTimeout(forward, rule.action.ms);
    else forward();
  }

  private forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    p: ProxiedRequest,
    entry: FaultProxy['log'][number],
    rule: FaultRule | undefined,
    archived: ArchivedObject | undefined,
  ): void {
    const upstream = http.request(
      {
        host: this.upstream.host,
        port: this.upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: this.agent,
      },
      up => {
        entry.status = up.statusCode;
        const headers = { ...up.headers };
        const isList =
          p.method === 'GET' &&
          p.key === undefined &&
          (p.query.get('list-type') === '2' || p.query.has('versions'));
        if (archived && p.method === 'HEAD' && up.statusCode === 200) {
          headers['x-amz-storage-class'] = archived.storageClass;
          if (archived.state === 'restoring') {
            if (--archived.headsUntilRestored <= 0) archived.state = 'restored';
            else headers['x-amz-restore'] = 'ongoing-request="true"';
          }
          if (archived.state === 'restored') {
            headers['x-amz-restore'] =
              `ongoing-request="false", expiry-date="${new Date(Date.now() + 86400_000).toUTCString()}"`;
          }
        }
        if (
          isList &&
          (this.archived.size > 0 || this.rewriteListing) &&
          up.statusCode === 200
        ) {
          const chunks: Buffer[] = [];
          up.on('data', d => chunks.push(d));
          up.on('end', () => {
            let xml = Buffer.concat(chunks).toString('utf8');
            // Keys of a listing asked for with encoding-type=url come url-encoded.
            const urlKeys = xml.includes('<EncodingType>url</EncodingType>');
            const keyOf = (text: string) =>
              urlKeys
                ? decodeURIComponent(unescapeXml(text).replace(/\+/g, ' '))
                : unescapeXml(text);
            xml = xml.replace(
              /<(Contents|Version)>([\s\S]*?)<\/\1>/g,
              (block, tag: string, inner: string) => {
                const key = /<Key>([^<]*)<\/Key>/.exec(inner)?.[1];
                const a =
                  key !== undefined ? this.archived.get(keyOf(key)) : undefined;
                if (!a) return block;
                return `<${tag}>${inner.replace(/<StorageClass>[^<]*<\/StorageClass>/, `<StorageClass>${a.storageClass}</StorageClass>`)}</${tag}>`;
              },
            );
            if (this.rewriteListing) xml = this.rewriteListing(xml);
            const body = Buffer.from(xml);
            delete headers['content-length'];
            delete headers['transfer-encoding'];
            headers['content-length'] = String(body.length);
            res.writeHead(up.statusCode ?? 200, headers);
            res.end(body);
          });
          return;
        }
        res.writeHead(up.statusCode ?? 502, headers);
        const action = rule?.action;
        if (action?.type === 'delay' && action.bytesPerSecond) {
          pace(up, res, action.bytesPerSecond, () => {
            entry.endedAt = performance.now();
          });
          return;
        }
        let passed = 0;
        up.on('data', (chunk: Buffer) => {
          let out = chunk;
          if (action?.type === 'corrupt') {
            const at = action.atByte ?? 0;
            if (at >= passed && at < passed + chunk.length) {
              out = Buffer.from(chunk);
              out[at - passed] ^= 0xff;
            }
          }
          if (
            (action?.type === 'reset' || action?.type === 'stall') &&
            passed + chunk.length > action.afterBytes
          ) {
            const keep = Math.max(0, action.afterBytes - passed);
            if (keep > 0) res.write(out.subarray(0, keep));
            passed += chunk.length;
            up.destroy();
            if (action.type === 'reset') {
              const socket = res.socket;
              if (socket?.resetAndDestroy) socket.resetAndDestroy();
              else socket?.destroy();
            }
            // 'stall': hold the socket open and send nothing more.
            return;
          }
          passed += chunk.length;
          if (!res.write(out)) {
            up.pause();
            res.once('drain', () => up.resume());
          }
        });
        up.on('end', () => {
          entry.endedAt = performance.now();
          res.end();
        });
        up.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () =>
      replyError(req, res, entry, { status: 502, code: 'BadGateway' }),
    );
    req.pipe(upstream);
  }
}

/** Copies `up` to `res` at `bytesPerSecond`, in slices every 10 ms; `ended` as the last is written. */
function pace(
  up: http.IncomingMessage,
  res: http.ServerResponse,
  bytesPerSecond: number,
  ended: () => void,
): void {
  const slice = Math.max(1, Math.round(bytesPerSecond / 100));
  let queued = Buffer.alloc(0);
  let upEnded = false;
  const timer = setInterval(() => {
    if (queued.length > 0) {
      res.write(queued.subarray(0, slice));
      queued = queued.subarray(slice);
      if (queued.length < slice) up.resume();
    }
    if (upEnded && queued.length === 0) {
      clearInterval(timer);
      ended();
      res.end();
    }
  }, 10);
  up.on('data', (chunk: Buffer) => {
    queued = Buffer.concat([queued, chunk]);
    if (queued.length >= 4 * slice) up.pause();
  });
  up.on('end', () => (upEnded = true));
  up.on('error', () => {
    clearInterval(timer);
    res.destroy();
  });
  res.on('close', () => clearInterval(timer));
}

/** An S3 error response (no body to a HEAD). */
function replyError(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  entry: FaultProxy['log'][number],
  e: {
    status: number;
    code: string;
    message?: string;
    headers?: Record<string, string>;
  },
): void {
  entry.status = e.status;
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${e.code}</Code><Message>${e.message ?? e.code}</Message></Error>`;
  req.resume();
  res.writeHead(e.status, {
    ...e.headers,
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/** A rule matching HEADs of one object. */
export function headOf(key: string): (req: ProxiedRequest) => boolean {
  return req => req.method === 'HEAD' && req.key === key;
}

/** A rule matching GETs of one object's body. */
export function getOf(key: string): (req: ProxiedRequest) => boolean {
  return req => req.method === 'GET' && req.key === key;
}
