/*
 * The populator's process (the Deployment in deploy/populator): in-cluster credentials; leader
 * election on the Lease kube-restore-populator in its namespace (every replica watches, the leader
 * reconciles; a replica that loses the Lease exits and comes back as a standby); /healthz, /readyz
 * and /metrics on :8080; on SIGTERM it finishes the reconcile under way, then gives the Lease back.
 *
 * Environment (all optional): POD_NAME and POD_NAMESPACE (downward API: the candidate's identity and
 * the Lease's namespace), PORT (8080), KUBE_RESTORE_JOB_IMAGE (core's default), LEADER_ELECTION
 * (`true`; `false` for a single replica that reconciles at once).
 */
import * as os from 'node:os';
import { createKubeClients, loadKubeConfig } from '@kube-restore/core';
import { Populator } from './controller';
import { readiness, startHealthServer } from './health';
import { LeaderElector } from './leaderElection';
import { createMetrics } from './metrics';

/** The Lease the replicas campaign for (deploy/populator's Role names it). */
const LEASE_NAME = 'kube-restore-populator';

function settings(env: NodeJS.ProcessEnv) {
  const port = Number(env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`PORT must be a port number (1-65535), not "${env.PORT}"`);
  const election = env.LEADER_ELECTION ?? 'true';
  if (election !== 'true' && election !== 'false')
    throw new Error(`LEADER_ELECTION must be true or false, not "${election}"`);
  return {
    port,
    election: election === 'true',
    identity: env.POD_NAME || os.hostname(),
    namespace: env.POD_NAMESPACE || 'kube-restore',
    image: env.KUBE_RESTORE_JOB_IMAGE || undefined,
  };
}

async function main() {
  const log = (message: string) =>
    process.stdout.write(`${new Date().toISOString()} ${message}\n`);
  const config = settings(process.env);
  const kc = loadKubeConfig();
  const metrics = createMetrics();
  const populator = new Populator({
    clients: createKubeClients(kc),
    image: config.image,
    log,
    observe: metrics,
    leading: !config.election,
  });
  metrics.setLeader(!config.election);
  populator.start();

  const stopping = new AbortController();
  // set below, once they exist; shutdown() may run before (a signal during start-up)
  const running: { campaign?: Promise<void>; server?: { close(): unknown } } =
    {};
  const shutdown = async (code: number) => {
    if (stopping.signal.aborted) return;
    // the reconcile under way ends before the Lease is given back: two replicas never overlap
    await populator.stop();
    stopping.abort();
    await running.campaign;
    running.server?.close();
    process.exit(code);
  };
  const elector = config.election
    ? new LeaderElector({
        kc,
        namespace: config.namespace,
        name: LEASE_NAME,
        identity: config.identity,
        log,
        onStartedLeading: () => {
          metrics.setLeader(true);
          populator.setLeading(true);
        },
        onStoppedLeading: () => {
          metrics.setLeader(false);
          populator.setLeading(false);
          if (!stopping.signal.aborted) {
            log('no longer leading: exiting (to come back as a standby)');
            void shutdown(1);
          }
        },
      })
    : undefined;
  running.server = await startHealthServer({
    port: config.port,
    registry: metrics.registry,
    ready: () => readiness({ watching: populator.watching, election: elector }),
  });
  running.campaign = elector?.run(stopping.signal);
  log(
    `populator ${config.identity} up: :${config.port}, ${elector ? `Lease ${config.namespace}/${LEASE_NAME}` : 'no election'}`,
  );
  process.once('SIGTERM', () => void shutdown(0));
  process.once('SIGINT', () => void shutdown(0));
}

main().catch(e => {
  process.stderr.write(`populator: ${(e as Error).message}\n`);
  process.exit(1);
});
