/**
 * HTTP(S)_PROXY and NO_PROXY for the job's S3 connections, read as curl and Node read them:
 * `HTTPS_PROXY` (or `https_proxy`) for https endpoints, `HTTP_PROXY` (or `http_proxy`) for http
 * ones, unless the endpoint's host matches `NO_PROXY` (`*`, a host or a domain suffix with or without
 * a leading dot, optionally `:port`, or an IP address). The SDK's calls go through Node's own proxy
 * support (an Agent's `proxyEnv`, Node >= 24.5); the lean GET path (keepAliveHttp.ts) through
 * `tunnel()` here: a CONNECT tunnel for https, absolute-form requests to the proxy for http.
 */
import net from 'node:net';
import { Duplex } from 'node:stream';

export interface ProxyTarget {
  protocol: 'http:' | 'https:';
  hostname: string;
  port: number;
}

function envOf(env: NodeJS.ProcessEnv, name: string): string | undefined {
  return env[name] || env[name.toLowerCase()] || undefined;
}

/** Does `NO_PROXY` exempt `hostname`:`port`? */
export function noProxyMatches(
  hostname: string,
  port: number,
  noProxy: string | undefined,
): boolean {
  if (!noProxy) return false;
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    let name = entry;
    const m = /^(.*):(\d+)$/.exec(entry);
    if (m && !net.isIPv6(entry)) {
      if (Number(m[2]) !== port) continue;
      name = m[1];
    }
    name = name.replace(/^\[|\]$/g, '').replace(/^\*?\./, '.');
    if (name.startsWith('.')) {
      if (host.endsWith(name) || host === name.slice(1)) return true;
    } else if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/** The proxy for `target`, or undefined for a direct connection. */
export function proxyFor(
  target: ProxyTarget,
  env: NodeJS.ProcessEnv,
): URL | undefined {
  const raw = envOf(
    env,
    target.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY',
  );
  if (!raw) return undefined;
  if (noProxyMatches(target.hostname, target.port, envOf(env, 'NO_PROXY')))
    return undefined;
  const url = new URL(raw.includes('://') ? raw : `http://${raw}`);
  if (url.protocol !== 'http:')
    throw Object.assign(
      new Error(
        `only http:// proxies are supported, not ${url.protocol}// (${url.host})`,
      ),
      { code: 'ERR_PROXY_UNSUPPORTED' },
    );
  return url;
}

/** Is any proxy variable set at all (then the SDK's agents are given the environment)? */
export function proxyConfigured(env: NodeJS.ProcessEnv): boolean {
  return Boolean(envOf(env, 'HTTPS_PROXY') || envOf(env, 'HTTP_PROXY'));
}

export function proxyPort(proxy: URL): number {
  return proxy.port ? Number(proxy.port) : 80;
}

/** `Proxy-Authorization` for a proxy URL with user and password, else undefined. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username) return undefined;
  const user = decodeURIComponent(proxy.username);
  const password = decodeURIComponent(proxy.password);
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

const MAX_CONNECT_HEAD = 16 * 1024;

/**
 * A stream to `hostname`:`port` through an HTTP proxy's CONNECT, usable at once (what is written
 * before the proxy answered waits for it). A refused tunnel fails the stream: a 407 with code
 * ERR_PROXY_AUTH, anything else ECONNREFUSED (retried like any lost connection).
 */
export function tunnel(proxy: URL, hostname: string, port: number): Duplex {
  const socket = net.connect({
    host: proxy.hostname.replace(/^\[|\]$/g, ''),
    port: proxyPort(proxy),
  });
  socket.setNoDelay(true);
  const authority = net.isIPv6(hostname)
    ? `[${hostname}]:${port}`
    : `${hostname}:${port}`;
  const auth = proxyAuthorization(proxy);
  socket.write(
    `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth ? `Proxy-Authorization: ${auth}\r\n` : ''}\r\n`,
    'latin1',
  );
  let open = false;
  let head = Buffer.alloc(0);
  const waiting: Array<() => void> = [];
  const stream: Duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      const send = () => socket.write(chunk, callback);
      if (open) send();
      else waiting.push(send);
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(error, callback) {
      socket.destroy();
      callback(error);
    },
  });
  const fail = (message: string, code: string) =>
    stream.destroy(Object.assign(new Error(message), { code }));
  socket.on('data', (data: Buffer) => {
    if (open) {
      if (!stream.push(data)) socket.pause();
      return;
    }
    head = Buffer.concat([head, data]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > MAX_CONNECT_HEAD)
        fail('the proxy answered CONNECT with an over-long head', 'ECONNRESET');
      return;
    }
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(
      head.toString('latin1', 0, end),
    );
    const line = head.toString('latin1', 0, head.indexOf('\r\n'));
    if (!status || status[1][0] !== '2') {
      fail(
        `the proxy ${proxy.host} refused a tunnel to ${authority}: ${line}`,
        status?.[1] === '407' ? 'ERR_PROXY_AUTH' : 'ECONNREFUSED',
      );
      return;
    }
    open = true;
    const rest = head.subarray(end + 4);
    head = Buffer.alloc(0);
    if (rest.length > 0) stream.push(rest);
    for (const send of waiting.splice(0)) send();
  });
  socket.on('end', () => stream.push(null));
  socket.on('error', error => stream.destroy(error));
  socket.on('close', () => {
    if (!open && !stream.destroyed)
      fail(
        `the proxy ${proxy.host} closed the connection before opening a tunnel to ${authority}`,
        'ECONNRESET',
      );
  });
  return stream;
}
