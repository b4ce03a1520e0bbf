/**
 * The populator's HTTP endpoints, for the kubelet's probes and Prometheus:
 *   /healthz  200 while the process serves (liveness)
 *   /readyz   200 when ready() says so (leading, or standing by with a working watch), else 503
 *   /metrics  the registry in Prometheus' text format
 */
import * as http from 'node:http';
import type { Registry } from 'prom-client';

export interface Readiness {
  ready: boolean;
  why: string;
}

/**
 * Ready when the PVC watch has listed and this replica leads, or stands by with the Lease readable
 * (it can take over); without election, when the watch has listed.
 */
export function readiness(state: {
  watching: boolean;
  election?: { isLeader: boolean; inContact: boolean };
}): Readiness {
  if (!state.watching)
    return { ready: false, why: 'the PVC watch has not listed yet' };
  if (!state.election) return { ready: true, why: 'reconciling (no election)' };
  if (state.election.isLeader) return { ready: true, why: 'leading' };
  return state.election.inContact
    ? { ready: true, why: 'standing by' }
    : { ready: false, why: 'the Lease cannot be read' };
}

export interface HealthServerOptions {
  port: number;
  /** Whether the replica is ready, and why not. */
  ready: () => Readiness;
  registry: Registry;
  host?: string;
}

export function startHealthServer(
  options: HealthServerOptions,
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const send = (status: number, body: string, type = 'text/plain') =>
      res
        .writeHead(status, { 'content-type': `${type}; charset=utf-8` })
        .end(body);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(405, 'GET only\n');
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/healthz') return send(200, 'ok\n');
    if (url === '/readyz') {
      const { ready, why } = options.ready();
      return send(ready ? 200 : 503, `${why}\n`);
    }
    if (url === '/metrics') {
      options.registry.metrics().then(
        text => send(200, text, options.registry.contentType.split(';')[0]),
        (e: Error) => send(500, `metrics: ${e.message}\n`),
      );
      return undefined;
    }
    return send(404, 'not found: /healthz, /readyz and /metrics are served\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}
