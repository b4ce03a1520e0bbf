/** The HTTP endpoints and the metrics behind them, on a real server on a free port. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readiness, startHealthServer } from './health';
import { createMetrics } from './metrics';

describe('the health and metrics endpoints', () => {
  let server: Server;
  let ready = { ready: false, why: 'the PVC watch has not listed yet' };
  const metrics = createMetrics({ defaultMetrics: false });
  const get = async (p: string, method = 'GET') => {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}${p}`, { method });
    return {
      status: res.status,
      body: await res.text(),
      type: res.headers.get('content-type'),
    };
  };

  beforeAll(async () => {
    server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      ready: () => ready,
      registry: metrics.registry,
    });
  });
  afterAll(() => new Promise(resolve => server.close(resolve)));

  it('/healthz is 200; /readyz follows ready() and says why', async () => {
    expect((await get('/healthz')).status).toBe(200);
    expect(await get('/readyz')).toMatchObject({
      status: 503,
      body: 'the PVC watch has not listed yet\n',
    });
    ready = { ready: true, why: 'standing by' };
    expect(await get('/readyz')).toMatchObject({
      status: 200,
      body: 'standing by\n',
    });
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/healthz', 'POST')).status).toBe(405);
  });

  it('/metrics counts reconciles, restores by outcome and code, in flight, and leadership', async () => {
    metrics.setLeader(true);
    metrics.reconciled(true);
    metrics.reconciled(false);
    metrics.started('a');
    metrics.started('b');
    metrics.started('c');
    metrics.succeeded('a');
    metrics.failed('b', 'NO_SUCH_BUCKET');
    metrics.failed('x', 'SOURCE_TOO_BIG');
    const { status, body, type } = await get('/metrics');
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain/);
    const value = (series: string) =>
      Number(
        new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(
          body,
        )?.[1],
      );
    expect(value('kube_restore_populator_reconciles_total{result="ok"}')).toBe(
      1,
    );
    expect(
      value('kube_restore_populator_reconciles_total{result="error"}'),
    ).toBe(1);
    expect(value('kube_restore_populator_restores_started_total')).toBe(3);
    expect(value('kube_restore_populator_restores_succeeded_total')).toBe(1);
    expect(
      value(
        'kube_restore_populator_restores_failed_total{code="NO_SUCH_BUCKET"}',
      ),
    ).toBe(1);
    expect(
      value(
        'kube_restore_populator_restores_failed_total{code="SOURCE_TOO_BIG"}',
      ),
    ).toBe(1);
    expect(value('kube_restore_populator_restores_in_flight')).toBe(1);
    expect(value('kube_restore_populator_leader')).toBe(1);
    metrics.gone('c');
    expect((await get('/metrics')).body).toMatch(
      /^kube_restore_populator_restores_in_flight 0$/m,
    );
  });

  it('readiness: leading, or standing by with the Lease readable, once the watch has listed', () => {
    const election = (isLeader: boolean, inContact: boolean) => ({
      isLeader,
      inContact,
    });
    expect(
      readiness({ watching: false, election: election(true, true) }),
    ).toEqual({
      ready: false,
      why: 'the PVC watch has not listed yet',
    });
    expect(
      readiness({ watching: true, election: election(true, false) }).ready,
    ).toBe(true);
    expect(
      readiness({ watching: true, election: election(false, true) }),
    ).toEqual({
      ready: true,
      why: 'standing by',
    });
    expect(
      readiness({ watching: true, election: election(false, false) }),
    ).toEqual({
      ready: false,
      why: 'the Lease cannot be read',
    });
    expect(readiness({ watching: true }).ready).toBe(true);
  });
});
