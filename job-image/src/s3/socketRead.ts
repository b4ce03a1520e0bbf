/**
 * How a connection of the lean S3 client (keepAliveHttp.ts) opens its socket and gets its bytes:
 * through `onread`, into the body chunk being filled when the connection offers one (no copy),
 * else into a reusable 256 KiB buffer that all connections share; returning false from the
 * callback stops reading. TLS reads the same way (its decrypted bytes land in that buffer), except
 * through a proxy's CONNECT tunnel, where tls.connect ignores `onread`: there the bytes come as
 * 'data' events (buffers of the decrypted records, the reader's to copy), and backpressure is the
 * socket's pause(). Plain http through a proxy connects to the proxy's own address (proxy.ts).
 * The TLS connections of one client share a secure context (the CA bundle parsed once, not per
 * connection) and resume the endpoint's latest session ticket (TlsSessions): a resumed handshake
 * skips the certificate chain's checks on both sides, half of a new connection's CPU.
 */
import net from 'node:net';
import type * as tlsTypes from 'node:tls';
import { proxyPort, tunnel } from './proxy';

/**
 * node:tls, loaded at the first TLS connection: a restore from an http endpoint never loads it
 * (about 5 ms of every start, bench/README.md "Start-up").
 */
function tls(): typeof tlsTypes {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at first use
  return require('node:tls');
}

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

/** Bytes read from a socket at a time (plain TCP). */
const READ_BUFFER_BYTES = 256 * 1024;
/**
 * The one read buffer of every plain TCP connection: a read's bytes are handed to its connection
 * in the same callback, which copies what it keeps, and libuv runs a stream's buffer request, its
 * read and that callback back to back; so one buffer serves any number of connections (hundreds,
 * with many small objects in flight) for the memory of one.
 */
let sharedReadBuffer: Buffer | undefined;

/** The connection's side of reading. */
export interface SocketReader {
  /**
   * `n` bytes of `buf` (from its start) arrived; the buffer may be reused as soon as this returns.
   * Returns false to stop reading (plain TCP; TLS is paused by the reader).
   */
  onBytes(buf: Buffer, n: number): boolean;
  /** Where the next plain TCP read should go, if somewhere other than the read buffer. */
  readTarget(): Uint8Array | undefined;
}

/**
 * What the TLS connections of one client (one endpoint) share: one secure context, made once from
 * the CA bundle (or the default trust store), and the latest session ticket the endpoint sent, which
 * each new connection offers. A server that no longer accepts the ticket does a full handshake,
 * with the certificate checked as always; a resumed one was checked when the session began, for the
 * same endpoint and server name, since a client talks to one endpoint only.
 */
export class TlsSessions {
  readonly context: tlsTypes.SecureContext;
  private ticket: Buffer | undefined;

  constructor(ca?: Buffer) {
    this.context = tls().createSecureContext(ca ? { ca } : {});
  }

  /** The session to offer a new connection, if the endpoint sent one. */
  get session(): Buffer | undefined {
    return this.ticket;
  }

  /** Keeps the tickets `socket` receives (TLS 1.3 sends them after the handshake). */
  watch(socket: tlsTypes.TLSSocket): tlsTypes.TLSSocket {
    socket.on('session', (ticket: Buffer) => {
      this.ticket = ticket;
    });
    return socket;
  }
}

/** Opens the socket of one connection to `options`' endpoint, reading into `reader`. */
export function openSocket(
  options: KeepAliveHttpOptions,
  reader: SocketReader,
  sessions?: TlsSessions,
): net.Socket {
  const { proxy } = options;
  if (options.protocol === 'https:') {
    const shared = sessions ?? new TlsSessions(options.ca);
    if (proxy) {
      // Through a tunnel tls.connect ignores `onread`: decrypted bytes come as 'data' events.
      const socket = tls().connect({
        socket: tunnel(proxy, options.hostname, options.port),
        ...tlsOptions(options, shared),
      });
      socket.on('data', (chunk: Buffer) => reader.onBytes(chunk, chunk.length));
      return shared.watch(socket);
    }
    // `onread` reaches the TLS socket's own read path (Node's documented tls.connect option,
    // missing from @types/node's ConnectionOptions)
    return shared.watch(
      tls().connect({
        host: options.hostname,
        port: options.port,
        ...tlsOptions(options, shared),
        onread: onread(reader),
      } as tlsTypes.ConnectionOptions),
    );
  }
  return net.connect({
    host: proxy ? proxy.hostname.replace(/^\[|\]$/g, '') : options.hostname,
    port: proxy ? proxyPort(proxy) : options.port,
    onread: onread(reader),
  });
}

/**
 * What every TLS connection of the endpoint is given, direct or tunnelled. The certificate is
 * checked against the endpoint's own host name or address on both paths: through a tunnel there is
 * no `host` to connect to, and an IP endpoint sends no SNI (RFC 6066 allows none for addresses), so
 * without these tls.connect would check the certificate against "localhost".
 */
function tlsOptions(
  options: KeepAliveHttpOptions,
  sessions: TlsSessions,
): tlsTypes.ConnectionOptions {
  const { hostname } = options;
  return {
    host: hostname,
    servername: net.isIP(hostname) ? undefined : hostname,
    checkServerIdentity: (_name, cert) =>
      tls().checkServerIdentity(hostname, cert),
    secureContext: sessions.context,
    session: sessions.session,
    ALPNProtocols: ['http/1.1'],
  };
}

/** Reads into the body chunk the reader offers, else into the shared read buffer. */
function onread(reader: SocketReader): net.OnReadOpts {
  const readBuffer = (sharedReadBuffer ??=
    Buffer.allocUnsafeSlow(READ_BUFFER_BYTES));
  return {
    buffer: () => reader.readTarget() ?? readBuffer,
    callback: (n: number, buf: Uint8Array) => reader.onBytes(buf as Buffer, n),
  };
}
