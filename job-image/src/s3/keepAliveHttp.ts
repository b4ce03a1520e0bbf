/**
 * A lean HTTP/1.1 client for S3 object bodies: keep-alive connections to one endpoint, a response
 * head parsed once, and the body copied from one read buffer that the connections share into chunks of
 * up to 1 MiB. Node's http module (and undici) cost 2.5x the CPU per GiB received on this path
 * (bench/README.md): a 64 KiB buffer, a parser callback and a stream push for every socket read.
 *
 * Only what object GETs and HEADs need: bodiless requests, Content-Length or chunked bodies (or a
 * body that ends with the connection), backpressure, an idle timeout, abort signals, and one
 * transparent retry when a reused connection turns out to have been closed by the server before
 * it answered. This module is the pool (at most `maxSockets` connections, a queue of requests);
 * httpConnection.ts is one connection and its parsing, socketRead.ts how a socket is opened and
 * read (`onread` into the body chunk or a shared buffer, TLS too unless tunnelled),
 * httpResponse.ts the response and its body chunks.
 */
import {
  Connection,
  ConnectionPool,
  Exchange,
  HttpRequest,
} from './httpConnection';
import { whenAborted } from '../abortWaits';
import { abortError, errnoError, HttpResponse } from './httpResponse';
import { proxyAuthorization } from './proxy';
import { KeepAliveHttpOptions, TlsSessions } from './socketRead';

export type { HttpRequest } from './httpConnection';
export { isAnswerTimeout } from './httpConnection';
export {
  BODY_CHUNK_BYTES,
  HttpResponse,
  recycleBodyChunks,
} from './httpResponse';
export type { KeepAliveHttpOptions } from './socketRead';

/**
 * The request line and headers; a CR or LF in a name or value is refused. Through an HTTP proxy
 * (plain http), the absolute form `GET http://<host header>/path` (the bucket's own host name with
 * virtual-hosted addressing), with the proxy's credentials.
 */
function requestHead(
  request: HttpRequest,
  viaProxy?: { authorization?: string },
): string {
  if (/[\s]/.test(request.path))
    throw new TypeError('the request path has white space');
  const target = viaProxy
    ? `http://${request.headers.host}${request.path}`
    : request.path;
  let head = `${request.method} ${target} HTTP/1.1\r\n`;
  const headers = viaProxy?.authorization
    ? { ...request.headers, 'proxy-authorization': viaProxy.authorization }
    : request.headers;
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n:]/.test(name) || /[\r\n]/.test(value))
      throw new TypeError(`invalid HTTP header ${JSON.stringify(name)}`);
    head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}

/** Keep-alive connections to one S3 endpoint, at most `maxSockets` open. */
export class KeepAliveHttpClient implements ConnectionPool {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly waiting: Exchange[] = [];
  private destroyed = false;
  private readonly viaProxy?: { authorization?: string };
  /** One secure context and session ticket for all the pool's TLS connections. */
  private readonly tlsSessions?: TlsSessions;
  /** Connections to open once one is up (preconnect). */
  private preconnecting = 0;

  constructor(private readonly options: KeepAliveHttpOptions) {
    if (options.proxy && options.protocol === 'http:')
      this.viaProxy = { authorization: proxyAuthorization(options.proxy) };
    if (options.protocol === 'https:')
      this.tlsSessions = new TlsSessions(options.ca);
  }

  /** Sends a bodiless request; resolves once the response head arrived (any status). */
  request(request: HttpRequest): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      if (this.destroyed) {
        reject(new Error('the HTTP client was closed'));
        return;
      }
      if (request.signal?.aborted) {
        reject(abortError(request.signal));
        return;
      }
      let wire: string;
      try {
        wire = requestHead(request, this.viaProxy);
      } catch (error) {
        reject(error as Error);
        return;
      }
      const ex: Exchange = {
        request,
        wire,
        resolve,
        reject,
        answered: false,
        head: [],
        headBytes: 0,
        keepAlive: true,
      };
      this.dispatch(ex, false);
    });
  }

  /**
   * Opens up to `count` more connections as soon as one of the pool's is up, so that the requests
   * after a listing find them ready instead of each paying a handshake's round trips (one for TCP,
   * one or two more for TLS). Waiting for a first connection keeps a wrong endpoint or an untrusted
   * certificate to one failed handshake, and with TLS lets the new ones resume its session.
   */
  preconnect(count: number): void {
    this.preconnecting = count;
    for (const conn of this.all) {
      if (conn.connected) {
        this.onConnected(conn);
        return;
      }
    }
  }

  onConnected(_conn: Connection): void {
    if (this.preconnecting <= 0 || this.destroyed) return;
    const count = Math.min(
      this.preconnecting,
      this.options.maxSockets - this.all.size,
    );
    this.preconnecting = 0;
    for (let i = 0; i < count; i++) {
      const conn = new Connection(this, this.options, this.tlsSessions);
      conn.preconnected = true;
      conn.socket.unref();
      this.all.add(conn);
      this.idle.push(conn);
    }
  }

  private dispatch(ex: Exchange, fresh: boolean): void {
    let conn = fresh ? undefined : this.idle.pop();
    if (!conn && this.all.size < this.options.maxSockets) {
      conn = new Connection(this, this.options, this.tlsSessions);
      this.all.add(conn);
    }
    if (!conn) {
      // Wait for a connection; an abort meanwhile takes the request out of the queue.
      const signal = ex.request.signal;
      if (signal)
        ex.endAbortWait = whenAborted(signal, () => {
          const i = this.waiting.indexOf(ex);
          if (i >= 0) this.waiting.splice(i, 1);
          ex.reject(abortError(signal));
        });
      this.waiting.push(ex);
      return;
    }
    this.run(conn, ex);
  }

  private run(conn: Connection, ex: Exchange): void {
    ex.endAbortWait?.();
    ex.endAbortWait = undefined;
    conn.watchAbort(ex);
    conn.start(ex);
  }

  /** A reused connection died before answering: the server had closed it; try a new one once. */
  retryFresh(ex: Exchange, error: Error): void {
    if (this.destroyed) {
      ex.reject(error);
      return;
    }
    ex.head = [];
    ex.headBytes = 0;
    // Not again: a fresh connection that fails rejects.
    const retry: Exchange = {
      ...ex,
      answered: false,
      endAbortWait: undefined,
    };
    this.dispatchFreshOnce(retry);
  }

  private dispatchFreshOnce(ex: Exchange): void {
    if (this.all.size >= this.options.maxSockets) {
      // Every slot is busy: queue it like any request (a new connection will serve it).
      this.dispatch(ex, false);
      return;
    }
    const conn = new Connection(this, this.options, this.tlsSessions);
    this.all.add(conn);
    this.run(conn, ex);
  }

  release(conn: Connection): void {
    if (conn.closed) return;
    const next = this.waiting.shift();
    if (next) {
      this.run(conn, next);
      return;
    }
    conn.socket.unref();
    this.idle.push(conn);
  }

  onClosed(conn: Connection): void {
    if (!this.all.delete(conn)) return;
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    const next = this.waiting.shift();
    if (next && !this.destroyed) this.dispatch(next, true);
  }

  destroy(): void {
    this.destroyed = true;
    for (const ex of this.waiting.splice(0))
      ex.reject(new Error('the HTTP client was closed'));
    for (const conn of [...this.all])
      conn.destroy(errnoError('ECONNABORTED', 'the HTTP client was closed'));
  }
}
