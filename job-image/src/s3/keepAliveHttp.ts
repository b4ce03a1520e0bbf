/**
 * A lean HTTP/1.1 client for S3 object bodies: keep-alive connections to one endpoint, a response
 * head parsed once, and the body copied from one reused read buffer per connection into chunks of
 * up to 1 MiB. Node's http module (and undici) cost 2.5x the CPU per GiB received on this path
 * (bench/README.md): a 64 KiB buffer, a parser callback and a stream push for every socket read.
 *
 * Only what object GETs and HEADs need: bodiless requests, Content-Length or chunked bodies (or a
 * body that ends with the connection), backpressure, an idle timeout, abort signals, and one
 * transparent retry when a reused connection turns out to have been closed by the server before
 * it answered. Plain TCP reads through `onread` into the connection's buffer; TLS through 'data'.
 */
import net from 'node:net';
import tls from 'node:tls';
import { proxyAuthorization, proxyPort, tunnel } from './proxy';

export interface KeepAliveHttpOptions {
  protocol: 'http:' | 'https:';
  /** Host name or address to connect to (no port). */
  hostname: string;
  port: number;
  maxSockets: number;
  /** Idle timeout of a request's connection in ms (no byte for that long fails it, ETIMEDOUT). */
  timeoutMs: number;
  /** PEM CAs for TLS, replacing the system's (as https.Agent's `ca` does). */
  ca?: Buffer;
  /** An HTTP proxy (proxy.ts): a CONNECT tunnel for https, absolute-form requests for http. */
  proxy?: URL;
}

export interface HttpRequest {
  method: 'GET' | 'HEAD';
  /** Path and query, already encoded. */
  path: string;
  /** Header names in lower case; `host` included. */
  headers: Record<string, string>;
  signal?: AbortSignal;
}

/** Bytes read from a socket at a time (plain TCP). */
const READ_BUFFER_BYTES = 256 * 1024;
/** The largest body chunk handed to the reader. */
export const BODY_CHUNK_BYTES = 1024 * 1024;
/** Queued body bytes of one response above which its connection stops reading. */
const HIGH_WATER_BYTES = 2 * BODY_CHUNK_BYTES;
const MAX_HEAD_BYTES = 64 * 1024;
/** A body chunk with at least this much room left is read into directly (plain TCP). */
const MIN_DIRECT_READ_BYTES = 64 * 1024;

/**
 * Full-size body chunks come from here and may come back through `recycleBodyChunks` once the
 * reader has written them: without reuse, chunks awaiting garbage collection grew the job's
 * resident memory from about 160 to 380 MiB on 8 x 256 MiB.
 */
const freeChunks: Buffer[] = [];
const MAX_FREE_CHUNKS = 32;

function takeChunk(size: number): Buffer {
  if (size === BODY_CHUNK_BYTES) {
    const reused = freeChunks.pop();
    if (reused) return reused;
  }
  return Buffer.allocUnsafeSlow(size);
}

/**
 * Gives full-size body chunks back for reuse. Only for chunks that nothing refers to any more
 * (written to their file, no hasher or parser holding them); anything else is ignored.
 */
export function recycleBodyChunks(chunks: readonly Buffer[]): void {
  for (const chunk of chunks) {
    if (
      chunk.length === BODY_CHUNK_BYTES &&
      chunk.byteOffset === 0 &&
      chunk.buffer.byteLength === BODY_CHUNK_BYTES &&
      freeChunks.length < MAX_FREE_CHUNKS &&
      !freeChunks.includes(chunk)
    )
      freeChunks.push(chunk);
  }
}

function errnoError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return Object.assign(new Error('The operation was aborted'), {
    name: 'AbortError',
    code: 'ABORT_ERR',
    cause: reason,
  });
}

/**
 * A response: status and headers at once, the body as an async iterable of Buffers (each one the
 * reader's to keep). `complete` is true once the whole body arrived; `destroy()` drops the rest
 * (and the connection, unless the body had already ended).
 */
export class HttpResponse implements AsyncIterable<Buffer> {
  complete = false;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private batch: Buffer | undefined;
  private fill = 0;
  private failure: Error | undefined;
  private destroyed = false;
  private discarding = false;
  private wake: (() => void) | undefined;
  /** Set by the connection: body bytes still to come when known (Content-Length), else undefined. */
  expected: number | undefined;

  constructor(
    readonly statusCode: number,
    readonly headers: Record<string, string | undefined>,
    private readonly connection: Connection,
  ) {}

  /**
   * Room in the body chunk being filled, for the socket to read into directly (at most `limit`
   * bytes, the rest of the body): undefined when there is too little left to be worth a read.
   */
  readTarget(limit: number): Buffer | undefined {
    if (this.discarding || this.destroyed) return undefined;
    const batch = this.batch ?? this.startBatch();
    const room = Math.min(batch.length - this.fill, limit);
    if (room < MIN_DIRECT_READ_BYTES && room < limit) return undefined;
    return batch.subarray(this.fill, this.fill + room);
  }

  /** Copies body bytes in (the connection's read buffer is reused at once). */
  push(src: Buffer, start: number, end: number): void {
    if (this.discarding || this.destroyed) return;
    let at = start;
    while (at < end) {
      const batch = this.batch ?? this.startBatch();
      const take = Math.min(end - at, batch.length - this.fill);
      // Bytes the socket read into the chunk itself (readTarget) are already in place.
      const inPlace =
        src.buffer === batch.buffer &&
        src.byteOffset + at === batch.byteOffset + this.fill;
      if (!inPlace) src.copy(batch, this.fill, at, at + take);
      this.fill += take;
      at += take;
      if (this.expected !== undefined) this.expected -= take;
      if (this.fill === batch.length) this.flushBatch();
    }
    if (this.queuedBytes >= HIGH_WATER_BYTES) this.connection.pause(this);
    this.notify();
  }

  /** A new body chunk: the rest of the body when it is known to be smaller than a full one. */
  private startBatch(): Buffer {
    const want =
      this.expected !== undefined
        ? Math.min(BODY_CHUNK_BYTES, Math.max(1, this.expected))
        : BODY_CHUNK_BYTES;
    this.batch = takeChunk(want);
    this.fill = 0;
    return this.batch;
  }

  private flushBatch(): void {
    if (!this.batch || this.fill === 0) return;
    const chunk =
      this.fill === this.batch.length
        ? this.batch
        : this.batch.subarray(0, this.fill);
    this.batch = undefined;
    this.fill = 0;
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
  }

  /** The body ended. */
  end(): void {
    this.flushBatch();
    this.complete = true;
    this.notify();
  }

  /** The body cannot end (connection lost, timeout, abort). */
  fail(error: Error): void {
    if (this.complete) return;
    this.failure ??= error;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Reads and drops the body (a HEAD's, or an error's that is not wanted). */
  resume(): void {
    this.discarding = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.batch = undefined;
    this.connection.resume(this);
  }

  /** Stops reading; the connection is closed unless the body already ended. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.batch = undefined;
    if (!this.complete)
      this.connection.destroyFor(
        this,
        errnoError('ECONNABORTED', 'response destroyed'),
      );
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for (;;) {
      if (this.destroyed)
        throw errnoError('ECONNABORTED', 'response destroyed');
      const chunk = this.queue.shift();
      if (chunk) {
        this.queuedBytes -= chunk.length;
        if (this.queuedBytes < HIGH_WATER_BYTES) this.connection.resume(this);
        yield chunk;
        continue;
      }
      if (this.complete) return;
      if (this.failure) throw this.failure;
      await new Promise<void>(resolve => {
        this.wake = resolve;
      });
    }
  }
}

type BodyState =
  | { kind: 'length'; remaining: number }
  | { kind: 'close' }
  | {
      kind: 'chunked';
      step: 'size' | 'data' | 'data-end' | 'trailer';
      remaining: number;
      line: string;
    };

interface Exchange {
  request: HttpRequest;
  /** The request line and headers as sent. */
  wire: string;
  resolve: (res: HttpResponse) => void;
  reject: (error: Error) => void;
  response?: HttpResponse;
  /** Any byte of the response seen. */
  answered: boolean;
  head: Buffer[];
  headBytes: number;
  body?: BodyState;
  keepAlive: boolean;
  onAbort?: () => void;
}

/** One socket, one exchange at a time. */
class Connection {
  readonly socket: net.Socket;
  exchange: Exchange | undefined;
  /** Served an exchange before (a stale keep-alive socket may fail the next without an answer). */
  used = false;
  closed = false;
  private paused = false;
  private readonly readBuffer: Buffer | undefined;

  constructor(
    private readonly pool: KeepAliveHttpClient,
    options: KeepAliveHttpOptions,
  ) {
    const { proxy } = options;
    if (options.protocol === 'https:') {
      this.socket = tls.connect({
        ...(proxy
          ? { socket: tunnel(proxy, options.hostname, options.port) }
          : { host: options.hostname, port: options.port }),
        servername: net.isIP(options.hostname) ? undefined : options.hostname,
        ca: options.ca,
        ALPNProtocols: ['http/1.1'],
      });
      this.socket.on('data', (chunk: Buffer) =>
        this.onBytes(chunk, chunk.length),
      );
    } else {
      this.readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
      this.socket = net.connect({
        host: proxy ? proxy.hostname.replace(/^\[|\]$/g, '') : options.hostname,
        port: proxy ? proxyPort(proxy) : options.port,
        onread: {
          buffer: () => this.nextReadBuffer(),
          callback: (n: number, buf: Uint8Array) =>
            this.onBytes(buf as Buffer, n),
        },
      });
    }
    this.socket.setNoDelay(true);
    this.socket.setTimeout(options.timeoutMs);
    this.socket.on('timeout', () =>
      this.destroy(
        errnoError(
          'ETIMEDOUT',
          `no data from the S3 endpoint for ${options.timeoutMs / 1000} s`,
        ),
      ),
    );
    this.socket.on('error', error => this.onClose(error));
    this.socket.on('close', () => this.onClose());
  }

  /**
   * Where the next socket read goes: straight into the body chunk being filled while a body of
   * known length is read (no copy), else the connection's read buffer.
   */
  private nextReadBuffer(): Uint8Array {
    const ex = this.exchange;
    if (ex?.body?.kind === 'length' && ex.body.remaining > 0 && ex.response) {
      const target = ex.response.readTarget(ex.body.remaining);
      if (target) return target;
    }
    return this.readBuffer!;
  }

  start(exchange: Exchange): void {
    this.exchange = exchange;
    this.socket.ref();
    this.socket.write(exchange.wire, 'latin1');
  }

  /** Backpressure from `response`, while its body is the one being read. */
  pause(response: HttpResponse): void {
    if (this.exchange?.response !== response || this.paused || this.closed)
      return;
    this.paused = true;
    this.socket.pause();
  }

  resume(response?: HttpResponse): void {
    if (response && this.exchange?.response !== response) return;
    if (!this.paused || this.closed) return;
    this.paused = false;
    this.socket.resume();
  }

  /** The reader gave up on `response` before its body ended. */
  destroyFor(response: HttpResponse, error: Error): void {
    if (this.exchange?.response === response) this.destroy(error);
  }

  destroy(error: Error): void {
    if (this.closed) return;
    this.failExchange(error);
    this.socket.destroy();
  }

  private onClose(error?: Error): void {
    const ex = this.exchange;
    if (ex?.body?.kind === 'close' && !error && ex.response) {
      // A body delimited by the end of the connection has ended.
      ex.response.end();
      this.exchange = undefined;
    }
    if (!this.closed) {
      this.closed = true;
      this.socket.destroy();
    }
    this.failExchange(
      error ??
        errnoError(
          'ECONNRESET',
          ex?.response
            ? 'the S3 endpoint closed the connection before the body ended'
            : 'socket hang up',
        ),
    );
    this.pool.onClosed(this);
  }

  private failExchange(error: Error): void {
    const ex = this.exchange;
    if (!ex) return;
    this.exchange = undefined;
    this.detachAbort(ex);
    if (ex.response) ex.response.fail(error);
    else if (!ex.answered && this.used && !ex.request.signal?.aborted)
      this.pool.retryFresh(ex, error);
    else ex.reject(error);
  }

  private detachAbort(ex: Exchange): void {
    if (ex.onAbort) ex.request.signal?.removeEventListener('abort', ex.onAbort);
    ex.onAbort = undefined;
  }

  /** Returns false to stop reading (onread). */
  private onBytes(buf: Buffer, n: number): boolean {
    try {
      this.consume(buf, 0, n);
    } catch (error) {
      this.destroy(error as Error);
    }
    return !this.paused;
  }

  private consume(buf: Buffer, start: number, end: number): void {
    let at = start;
    while (at < end) {
      const ex = this.exchange;
      if (!ex) {
        throw errnoError(
          'ECONNRESET',
          'the S3 endpoint sent bytes outside a response',
        );
      }
      ex.answered = true;
      if (!ex.body) {
        at = this.consumeHead(ex, buf, at, end);
        continue;
      }
      at = this.consumeBody(ex, ex.body, buf, at, end);
    }
  }

  private consumeHead(
    ex: Exchange,
    buf: Buffer,
    start: number,
    end: number,
  ): number {
    // The blank line may straddle reads: search the held bytes plus this read.
    const held = ex.headBytes;
    const piece = buf.subarray(start, end);
    const joined = held > 0 ? Buffer.concat([...ex.head, piece]) : piece;
    const searchFrom = Math.max(0, held - 3);
    const blank = joined.indexOf('\r\n\r\n', searchFrom, 'latin1');
    if (blank < 0) {
      if (joined.length > MAX_HEAD_BYTES)
        throw errnoError(
          'ECONNRESET',
          'the S3 endpoint sent a response head over 64 KiB',
        );
      // The read buffer is reused: keep a copy.
      ex.head = [held > 0 ? joined : Buffer.from(joined)];
      ex.headBytes = joined.length;
      return end;
    }
    const consumed = blank + 4 - held;
    ex.head = [];
    ex.headBytes = 0;
    const text = joined.toString('latin1', 0, blank);
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0]);
    if (!m)
      throw errnoError(
        'ECONNRESET',
        `the S3 endpoint answered something other than HTTP/1.x: ${JSON.stringify(lines[0].slice(0, 80))}`,
      );
    const status = Number(m[2]);
    const headers: Record<string, string | undefined> = {};
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(':');
      if (colon <= 0) continue;
      const name = lines[i].slice(0, colon).trim().toLowerCase();
      const value = lines[i].slice(colon + 1).trim();
      headers[name] =
        headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    if (status >= 100 && status < 200) return start + consumed; // 100 Continue and friends
    const connection = (headers.connection ?? '').toLowerCase();
    ex.keepAlive =
      m[1] === '1'
        ? !connection.includes('close')
        : connection.includes('keep-alive');
    const te = (headers['transfer-encoding'] ?? '').toLowerCase();
    const length = headers['content-length'];
    let body: BodyState;
    if (ex.request.method === 'HEAD' || status === 204 || status === 304) {
      body = { kind: 'length', remaining: 0 };
    } else if (te.includes('chunked')) {
      body = { kind: 'chunked', step: 'size', remaining: 0, line: '' };
    } else if (length !== undefined && /^\d+$/.test(length)) {
      body = { kind: 'length', remaining: Number(length) };
    } else {
      body = { kind: 'close' };
      ex.keepAlive = false;
    }
    ex.body = body;
    const response = new HttpResponse(status, headers, this);
    if (body.kind === 'length') response.expected = body.remaining;
    ex.response = response;
    ex.resolve(response);
    if (body.kind === 'length' && body.remaining === 0) this.finish(ex);
    return start + consumed;
  }

  private consumeBody(
    ex: Exchange,
    body: BodyState,
    buf: Buffer,
    start: number,
    end: number,
  ): number {
    const response = ex.response!;
    if (body.kind === 'close') {
      response.push(buf, start, end);
      return end;
    }
    if (body.kind === 'length') {
      const take = Math.min(body.remaining, end - start);
      response.push(buf, start, start + take);
      body.remaining -= take;
      if (body.remaining === 0) this.finish(ex);
      return start + take;
    }
    // chunked
    let at = start;
    while (at < end && this.exchange === ex) {
      if (body.step === 'data') {
        const take = Math.min(body.remaining, end - at);
        response.push(buf, at, at + take);
        body.remaining -= take;
        at += take;
        if (body.remaining === 0) body.step = 'data-end';
        continue;
      }
      // A line: chunk size, the CRLF after a chunk's data, or a trailer.
      const nl = buf.indexOf(10, at);
      const stop = nl < 0 || nl >= end ? end : nl + 1;
      body.line += buf.toString('latin1', at, stop);
      at = stop;
      if (!body.line.endsWith('\n')) {
        if (body.line.length > 8192)
          throw errnoError('ECONNRESET', 'malformed chunked body');
        continue;
      }
      const line = body.line.replace(/\r?\n$/, '');
      body.line = '';
      if (body.step === 'data-end') {
        if (line !== '')
          throw errnoError('ECONNRESET', 'malformed chunked body');
        body.step = 'size';
      } else if (body.step === 'size') {
        const size = parseInt(line.split(';')[0].trim(), 16);
        if (!Number.isFinite(size) || size < 0)
          throw errnoError('ECONNRESET', 'malformed chunk size');
        if (size === 0) body.step = 'trailer';
        else {
          body.remaining = size;
          body.step = 'data';
        }
      } else if (line === '') {
        this.finish(ex);
      }
    }
    return at;
  }

  /** The response ended: hand the connection back (or close it). */
  private finish(ex: Exchange): void {
    this.detachAbort(ex);
    this.exchange = undefined;
    this.used = true;
    ex.response!.end();
    if (!ex.keepAlive) {
      this.closed = true;
      this.socket.destroy();
      this.pool.onClosed(this);
      return;
    }
    this.resume();
    this.pool.release(this);
  }

  /** Watch the request's signal while this exchange runs. */
  watchAbort(ex: Exchange): void {
    const signal = ex.request.signal;
    if (!signal) return;
    ex.onAbort = () => this.destroy(abortError(signal));
    signal.addEventListener('abort', ex.onAbort, { once: true });
  }
}

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
export class KeepAliveHttpClient {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly waiting: Exchange[] = [];
  private destroyed = false;
  private readonly viaProxy?: { authorization?: string };

  constructor(private readonly options: KeepAliveHttpOptions) {
    if (options.proxy && options.protocol === 'http:')
      this.viaProxy = { authorization: proxyAuthorization(options.proxy) };
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

  private dispatch(ex: Exchange, fresh: boolean): void {
    let conn = fresh ? undefined : this.idle.pop();
    if (!conn && this.all.size < this.options.maxSockets) {
      conn = new Connection(this, this.options);
      this.all.add(conn);
    }
    if (!conn) {
      // Wait for a connection; an abort meanwhile takes the request out of the queue.
      const signal = ex.request.signal;
      if (signal) {
        ex.onAbort = () => {
          const i = this.waiting.indexOf(ex);
          if (i >= 0) this.waiting.splice(i, 1);
          ex.reject(abortError(signal));
        };
        signal.addEventListener('abort', ex.onAbort, { once: true });
      }
      this.waiting.push(ex);
      return;
    }
    this.run(conn, ex);
  }

  private run(conn: Connection, ex: Exchange): void {
    if (ex.onAbort) ex.request.signal?.removeEventListener('abort', ex.onAbort);
    ex.onAbort = undefined;
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
    const retry: Exchange = { ...ex, answered: false, onAbort: undefined };
    this.dispatchFreshOnce(retry);
  }

  private dispatchFreshOnce(ex: Exchange): void {
    if (this.all.size >= this.options.maxSockets) {
      // Every slot is busy: queue it like any request (a new connection will serve it).
      this.dispatch(ex, false);
      return;
    }
    const conn = new Connection(this, this.options);
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
