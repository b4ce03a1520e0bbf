/*
 * A TLS-terminating TCP proxy on the upstream's own address (for the harness's MinIO, the pod
 * network's gateway, which restore pods reach): `https://ADDRESS:PORT` in front of a plain-HTTP
 * server, with a serving certificate from a throw-away CA (the harness's openssl PKI).
 * Bytes pass through untouched, the Host header too, so SigV4 signatures stay valid.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { Pki } from '@kube-restore/test-cluster';

export interface TlsProxy {
  endpoint: string;
  /** PEM of the CA that issued the proxy's certificate. */
  ca: string;
  /** TLS connections accepted (handshakes that completed). */
  connections: () => number;
  close(): Promise<void>;
}

export async function startTlsProxy(
  upstream: string,
  dir: string,
): Promise<TlsProxy> {
  const target = new URL(upstream);
  const host = target.hostname;
  const pki = new Pki(path.join(dir, 'pki'));
  await pki.init();
  const cert = await pki.issue({
    name: 's3',
    cn: 's3.test',
    ips: [host],
    usage: 'server',
  });
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = tls.createServer(
    { cert: cert.cert, key: cert.key },
    client => {
      accepted++;
      const up = net.connect(Number(target.port), target.hostname);
      for (const s of [client, up]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          up.destroy();
        });
      }
      client.pipe(up).pipe(client);
    },
  );
  server.on('tlsClientError', () => {});
  await new Promise<void>(resolve => server.listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `https://${host}:${port}`,
    ca: pki.ca,
    connections: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>(resolve => server.close(() => resolve()));
    },
  };
}
