/**
 * An emulated network link between the tools and the S3 server: a TCP proxy in which every byte
 * takes half the round trip to cross in each direction, and each direction of each connection is
 * serialised at a fixed rate (the per-connection bandwidth cap). A request/response turn therefore
 * costs one round trip, a new connection one more (the TCP handshake: the client's first bytes
 * leave one round trip after it connected), and a body of B bytes B / rate. The proxy does not look
 * into the bytes, so TLS runs end to end between the tool and the server.
 */
import * as net from 'node:net';

export interface LinkOptions {
  /** Round-trip time added, in milliseconds. */
  rttMs: number;
  /** Per-connection, per-direction rate cap in bytes per second. */
  bytesPerSecond: number;
}

/**
 * When each chunk is delivered on one direction of a link: it leaves when the link is free (the
 * previous chunk serialised) and not before `notBefore`, takes `bytes / rate` to serialise and
 * `oneWayMs` to cross. Pure, so that the timing is unit-tested.
 */
export class LinkClock {
  private free: number;
  constructor(
    private readonly oneWayMs: number,
    private readonly bytesPerMs: number,
    notBefore: number,
  ) {
    this.free = notBefore;
  }

  /** Delivery time of `bytes` handed to the link at `now` (all in ms). */
  deliver(now: number, bytes: number): number {
    const start = Math.max(now, this.free);
    this.free = start + bytes / this.bytesPerMs;
    return this.free + this.oneWayMs;
  }
}

/** Bytes queued in one direction above which the sender is paused (about TCP's window). */
const HIGH_WATER = 8 << 20;

/** One direction of one connection: a delivery queue with a timer for its head. */
class Direction {
  private readonly queue: Array<{ at: number; chunk: Buffer }> = [];
  private timer?: NodeJS.Timeout;
  private queued = 0;
  private ended = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly clock: LinkClock,
  ) {
    from.on('data', chunk => this.push(chunk));
    from.on('end', () => {
      this.ended = true;
      this.flush();
    });
    to.on('drain', () => this.maybeResume());
  }

  private push(chunk: Buffer): void {
    this.queue.push({
      at: this.clock.deliver(performance.now(), chunk.length),
      chunk,
    });
    this.queued += chunk.length;
    if (this.queued > HIGH_WATER) this.from.pause();
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    const wait = Math.max(0, this.queue[0].at - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    const now = performance.now();
    while (this.queue.length && this.queue[0].at <= now + 0.5) {
      const { chunk } = this.queue.shift()!;
      this.queued -= chunk.length;
      if (!this.to.destroyed) this.to.write(chunk);
    }
    if (this.queue.length) this.schedule();
    else if (this.ended && !this.to.destroyed) this.to.end();
    this.maybeResume();
  }

  private maybeResume(): void {
    if (
      this.from.isPaused() &&
      this.queued <= HIGH_WATER / 2 &&
      !this.to.writableNeedDrain
    )
      this.from.resume();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.queue.length = 0;
  }
}

export interface LinkProxy {
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  stop(): Promise<void>;
}

/** A proxy on 127.0.0.1:<free port> to `upstreamPort`, with the link `opts`. */
export function startLinkProxy(
  upstreamPort: number,
  opts: LinkOptions,
): Promise<LinkProxy> {
  const oneWay = opts.rttMs / 2;
  const perMs = opts.bytesPerSecond / 1000;
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  // half-open both ways: a FIN is passed on in its turn, after the bytes queued before it
  const server = net.createServer(
    { noDelay: true, allowHalfOpen: true },
    client => {
      accepted++;
      const t0 = performance.now();
      const upstream = net.connect({
        host: '127.0.0.1',
        port: upstreamPort,
        noDelay: true,
        allowHalfOpen: true,
      });
      sockets.add(client);
      sockets.add(upstream);
      // the client's first bytes leave after the handshake's round trip; the server's after its
      // request arrived, which the clock of the other direction already delays
      const up = new Direction(
        client,
        upstream,
        new LinkClock(oneWay, perMs, t0 + opts.rttMs),
      );
      const down = new Direction(
        upstream,
        client,
        new LinkClock(oneWay, perMs, t0),
      );
      const abort = () => {
        up.stop();
        down.stop();
        client.destroy();
        upstream.destroy();
      };
      for (const s of [client, upstream]) {
        s.on('error', abort);
        s.on('close', hadError => {
          sockets.delete(s);
          if (hadError) abort();
        });
      }
    },
  );
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        connections: () => accepted,
        stop: () =>
          new Promise<void>(done => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
