/**
 * The populator's Prometheus metrics (prom-client), on its own registry: reconciles, restores started,
 * succeeded and failed (by error code), restores in flight, and whether this replica leads.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { PopulatorObserver } from './reconcile';

export interface PopulatorMetrics extends PopulatorObserver {
  registry: Registry;
  setLeader(leading: boolean): void;
}

export function createMetrics(
  options: { defaultMetrics?: boolean } = {},
): PopulatorMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false)
    collectDefaultMetrics({ register: registry });
  const reconciles = new Counter({
    name: 'kube_restore_populator_reconciles_total',
    help: 'PVC reconciles, by result (ok or error)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const started = new Counter({
    name: 'kube_restore_populator_restores_started_total',
    help: 'Restore Jobs the populator started',
    registers: [registry],
  });
  const succeeded = new Counter({
    name: 'kube_restore_populator_restores_succeeded_total',
    help: 'PVCs populated (restore done and the volume bound to the PVC)',
    registers: [registry],
  });
  const failed = new Counter({
    name: 'kube_restore_populator_restores_failed_total',
    help: 'Failed restore attempts, by error code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const inFlight = new Set<string>();
  registry.registerMetric(
    new Gauge({
      name: 'kube_restore_populator_restores_in_flight',
      help: 'PVCs whose restore has started and not yet finished or failed',
      registers: [],
      collect() {
        this.set(inFlight.size);
      },
    }),
  );
  const leader = new Gauge({
    name: 'kube_restore_populator_leader',
    help: '1 when this replica holds the leader Lease (it reconciles), else 0',
    registers: [registry],
  });
  // both series exist from the start, so a rate over them is defined before the first event
  reconciles.inc({ result: 'ok' }, 0);
  reconciles.inc({ result: 'error' }, 0);
  return {
    registry,
    setLeader: leading => leader.set(leading ? 1 : 0),
    reconciled: ok => reconciles.inc({ result: ok ? 'ok' : 'error' }),
    started: uid => {
      started.inc();
      inFlight.add(uid);
    },
    succeeded: uid => {
      succeeded.inc();
      inFlight.delete(uid);
    },
    failed: (uid, code) => {
      failed.inc({ code });
      inFlight.delete(uid);
    },
    gone: uid => {
      inFlight.delete(uid);
    },
  };
}
