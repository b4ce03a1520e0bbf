/**
 * One keep-alive connection of the lean S3 client (keepAliveHttp.ts), one exchange at a time: it
 * writes a request, parses the response head once, and hands the body (Content-Length, chunked, or
 * up to the end of the connection) to the response, pausing the socket when the reader is behind.
 * The socket and how its bytes arrive are socketRead.ts's; what happens to a connection that ends
 * or is free again is its pool's (`ConnectionPool`).
 */
import type net from 'node:net';
import {
  abortError,
  BodySource,
  errnoError,
  HttpResponse,
} from './httpResponse';
import { whenAborted } from '../abortWaits';
import { KeepAliveHttpOptions, openSocket, TlsSessions } from './socketRead';

const MAX_HEAD_BYTES = 64 * 1024;

export interface HttpRequest {
  method: 'GET' | 'HEAD';
  /** Path and query, already encoded. */
  path: string;
  /** Header names in lower case; `host` included. */
  headers: Record<string, string>;
  signal?: AbortSignal;
  /**
   * How long (ms) the request may wait for the first byte of its answer, its connection's set-up
   * included (answerDeadline.ts); then it fails ETIMEDOUT. Default, and never more than: the idle
   * timeout.
   */
  answerWithinMs?: number;
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

export interface Exchange {
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
  /** Ends the watch on the request's signal (abortWaits.ts), while one is on. */
  endAbortWait?: () => void;
}

/** The error of a request that got no answer within `ms` (answerDeadline.ts counts them). */
export function answerTimeout(ms: number): Error {
  return Object.assign(
    errnoError(
      'ETIMEDOUT',
      `no answer from the S3 endpoint within ${ms / 1000} s`,
    ),
    { unanswered: true },
  );
}

export function isAnswerTimeout(error: unknown): boolean {
  return (error as { unanswered?: unknown } | null)?.unanswered === true;
}

/** What a connection tells its pool. */
export interface ConnectionPool {
  /** The exchange ended and the connection may serve another. */
  release(conn: Connection): void;
  /** The connection is gone. */
  onClosed(conn: Connection): void;
  /** A reused connection died before any answer: run `ex` again on a fresh one. */
  retryFresh(ex: Exchange, error: Error): void;
  /**
   * The connection is up: TCP connected; with TLS, its session ticket received (so that the
   * connections opened next resume it), or its first answer read where the server sends none.
   */
  onConnected(conn: Connection): void;
}

/** One socket, one exchange at a time. */
export class Connection implements BodySource {
  readonly socket: net.Socket;
  exchange: Exchange | undefined;
  /** Served an exchange before (a stale keep-alive socket may fail the next without an answer). */
  used = false;
  closed = false;
  /** Up, as ConnectionPool.onConnected says. */
  connected = false;
  /** Opened ahead of any request (preconnect): once up, it may go stale like a reused one. */
  preconnected = false;
  private paused = false;
  /** The idle timeout (ms). */
  private readonly idleMs: number;
  /** The socket's timeout is the exchange's wait for an answer (ms), not the idle timeout. */
  private awaitingMs = 0;

  /** `tlsSessions`: what the pool's TLS connections share (socketRead.ts). */
  constructor(
    private readonly pool: ConnectionPool,
    options: KeepAliveHttpOptions,
    tlsSessions?: TlsSessions,
  ) {
    this.socket = openSocket(
      options,
      {
        onBytes: (buf, n) => this.onBytes(buf, n),
        readTarget: () => this.readTarget(),
      },
      tlsSessions,
    );
    this.socket.once(
      options.protocol === 'https:' ? 'session' : 'connect',
      () => this.up(),
    );
    this.socket.setNoDelay(true);
    this.idleMs = options.timeoutMs;
    this.socket.setTimeout(options.timeoutMs);
    this.socket.on('timeout', () =>
      this.destroy(
        this.awaitingMs > 0
          ? answerTimeout(this.awaitingMs)
          : errnoError(
              'ETIMEDOUT',
              `no data from the S3 endpoint for ${this.idleMs / 1000} s`,
            ),
      ),
    );
    this.socket.on('error', error => this.onClose(error));
    this.socket.on('close', () => this.onClose());
  }

  /**
   * Where the next plain TCP read goes: straight into the body chunk being filled while a body of
   * known length is read (no copy), else (undefined) the socket's read buffer.
   */
  private readTarget(): Uint8Array | undefined {
    const ex = this.exchange;
    if (ex?.body?.kind === 'length' && ex.body.remaining > 0 && ex.response)
      return ex.response.readTarget(ex.body.remaining);
    return undefined;
  }

  private up(): void {
    if (this.connected) return;
    this.connected = true;
    // Idle since it connected, it may be closed by the server before its first request, as a
    // reused connection may: a request it fails without an answer gets one fresh try.
    if (this.preconnected) this.used = true;
    this.pool.onConnected(this);
  }

  start(exchange: Exchange): void {
    this.exchange = exchange;
    const wait = exchange.request.answerWithinMs;
    if (wait !== undefined && wait < this.idleMs) {
      this.awaitingMs = wait;
      this.socket.setTimeout(wait);
    }
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
    else if (
      !ex.answered &&
      this.used &&
      !ex.request.signal?.aborted &&
      // a kept-alive connection the server closed fails at once; one that ran out of its wait
      // for an answer goes to the caller, which counts it, logs it and backs off
      !isAnswerTimeout(error)
    )
      this.pool.retryFresh(ex, error);
    else ex.reject(error);
  }

  private detachAbort(ex: Exchange): void {
    ex.endAbortWait?.();
    ex.endAbortWait = undefined;
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
      if (!ex.answered) {
        ex.answered = true;
        if (this.awaitingMs > 0) {
          this.awaitingMs = 0;
          this.socket.setTimeout(this.idleMs);
        }
      }
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
    this.up();
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
    ex.endAbortWait = whenAborted(signal, () =>
      this.destroy(abortError(signal)),
    );
  }
}
