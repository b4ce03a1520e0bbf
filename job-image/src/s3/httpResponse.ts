/**
 * An HTTP response of the lean S3 client (keepAliveHttp.ts): its status and headers, and its body
 * as an async iterable of chunks of up to 1 MiB, with backpressure on the connection that reads it.
 * Full-size chunks come from a small free list that the download code refills once it has written
 * them (`recycleBodyChunks`).
 */

/** The largest body chunk handed to the reader. */
export const BODY_CHUNK_BYTES = 1024 * 1024;
/** Queued body bytes of one response above which its connection stops reading. */
const HIGH_WATER_BYTES = 2 * BODY_CHUNK_BYTES;
/** A body chunk with at least this much room left is read into directly (plain TCP). */
const MIN_DIRECT_READ_BYTES = 64 * 1024;

/**
 * Full-size body chunks come from here and may come back through `recycleBodyChunks` once the
 * reader has written them: without reuse, chunks awaiting garbage collection grew the job's
 * resident memory from about 160 to 380 MiB on 8 x 256 MiB.
 */
const freeChunks: Buffer[] = [];
const MAX_FREE_CHUNKS = 32;

/** The first chunk of a body of unknown length. */
const FIRST_UNKNOWN_LENGTH_CHUNK_BYTES = 64 * 1024;

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

export function errnoError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

export function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return Object.assign(new Error('The operation was aborted'), {
    name: 'AbortError',
    code: 'ABORT_ERR',
    cause: reason,
  });
}

/** What a response needs of the connection that reads its body. */
export interface BodySource {
  /** Stop reading: the reader is behind. */
  pause(response: HttpResponse): void;
  /** Read again (a no-op unless paused for `response`). */
  resume(response?: HttpResponse): void;
  /** The reader gave up before the body ended: drop the connection. */
  destroyFor(response: HttpResponse, error: Error): void;
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
  /** The next chunk's size for a body of unknown length: it grows from 64 KiB to a full chunk. */
  private unknownLengthChunk = FIRST_UNKNOWN_LENGTH_CHUNK_BYTES;
  private failure: Error | undefined;
  private destroyed = false;
  private discarding = false;
  /** hold(): the connection reads nothing more until the body is iterated. */
  private held = false;
  private wake: (() => void) | undefined;
  /** Set by the connection: body bytes still to come when known (Content-Length), else undefined. */
  expected: number | undefined;

  constructor(
    readonly statusCode: number,
    readonly headers: Record<string, string | undefined>,
    private readonly connection: BodySource,
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

  /** Copies body bytes in (the read buffer is reused at once). */
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
    if (this.held || this.queuedBytes >= HIGH_WATER_BYTES)
      this.connection.pause(this);
    this.notify();
  }

  /**
   * Reads no more of the body until it is iterated: what comes meanwhile waits in the kernel's
   * socket buffer, not in memory here (a ranged part sent ahead of its turn, partWorkers.ts).
   */
  hold(): void {
    if (this.complete || this.discarding || this.destroyed) return;
    this.held = true;
    this.connection.pause(this);
  }

  /**
   * A new body chunk: the rest of the body when it is known to be smaller than a full one; for a body
   * of unknown length (chunked or until close) 64 KiB, then twice the last, up to a full chunk, so
   * that many small bodies read at once do not each hold 1 MiB while they arrive.
   */
  private startBatch(): Buffer {
    let want: number;
    if (this.expected !== undefined)
      want = Math.min(BODY_CHUNK_BYTES, Math.max(1, this.expected));
    else {
      want = this.unknownLengthChunk;
      this.unknownLengthChunk = Math.min(BODY_CHUNK_BYTES, want * 2);
    }
    this.batch = takeChunk(want);
    this.fill = 0;
    return this.batch;
  }

  /**
   * The last chunk of a body without a known length (chunked or until close) may fill little of the
   * full-size chunk it was read into: it is copied to a buffer of its size and the full one goes
   * back to the free list, so that many small bodies held by their readers do not keep 1 MiB each.
   */
  private shrinkBatch(): void {
    const batch = this.batch;
    if (!batch || this.fill === 0 || this.fill > batch.length / 2) return;
    this.batch = Buffer.allocUnsafeSlow(this.fill);
    batch.copy(this.batch, 0, 0, this.fill);
    recycleBodyChunks([batch]);
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
    this.shrinkBatch();
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
    if (this.held) {
      this.held = false;
      this.connection.resume(this);
    }
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
