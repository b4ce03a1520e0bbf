/**
 * Leader election on a coordination.k8s.io Lease, as client-go's leaderelection does it
 * (@kubernetes/client-node has none): so that of several replicas one reconciles at a time.
 *
 * A candidate takes the Lease when it does not exist, names no holder, or has not changed for
 * `leaseDurationMs` as this process saw it (its own clock only: the renewTime written by another
 * machine is compared, never subtracted, so clock skew does not matter). The leader renews every
 * `retryPeriodMs`; when no renewal has succeeded for `renewDeadlineMs` (shorter than the lease) it
 * stops leading, before any other candidate may take over. Every write is a create or a replace with
 * the resourceVersion that was read, so the API server decides races (409 for the loser). Stopped
 * (SIGTERM), a leader gives the Lease back (holder cleared) so a standby takes over at once.
 */
import {
  CoordinationV1Api,
  V1Lease,
  V1MicroTime,
} from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';

export interface LeaderElectionOptions {
  kc: KubeConfig;
  namespace: string;
  /** The Lease's name. */
  name: string;
  /** This candidate (the pod's name). */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  /** Leadership lost (renewal failed past the deadline) or given back on stop. */
  onStoppedLeading: () => void;
  log?: (message: string) => void;
}

/** What a candidate last saw of the Lease, and when (its own clock). */
export class LeaseObservation {
  private record?: string;
  private at = 0;

  /** Records `lease` as seen at `now`; the clock restarts only when the record changed. */
  observe(lease: V1Lease | undefined, now: number): void {
    const spec = lease?.spec;
    const record = JSON.stringify([
      spec?.holderIdentity ?? '',
      spec?.renewTime ? new Date(spec.renewTime).getTime() : 0,
      spec?.leaseDurationSeconds ?? 0,
    ]);
    if (record !== this.record) {
      this.record = record;
      this.at = now;
    }
  }

  /**
   * Whether `identity` may take (or keep) the Lease at `now`: it holds it, nobody does, or the holder
   * has not renewed it within its leaseDurationSeconds (`fallbackMs` when it names none).
   */
  mayTake(
    lease: V1Lease | undefined,
    identity: string,
    now: number,
    fallbackMs: number,
  ): boolean {
    const holder = lease?.spec?.holderIdentity;
    if (!lease || !holder || holder === identity) return true;
    const durationMs =
      (lease.spec?.leaseDurationSeconds ?? fallbackMs / 1000) * 1000;
    return now >= this.at + durationMs;
  }
}

const statusOf = (e: unknown) => (e as { code?: number })?.code;

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly seen = new LeaseObservation();
  private readonly leaseMs: number;
  private readonly deadlineMs: number;
  private readonly retryMs: number;
  private leading = false;
  /** When this process last read or wrote the Lease successfully (0: never). */
  private contact = 0;

  constructor(private readonly o: LeaderElectionOptions) {
    this.api = o.kc.makeApiClient(CoordinationV1Api);
    this.leaseMs = o.leaseDurationMs ?? 15_000;
    this.deadlineMs = o.renewDeadlineMs ?? 10_000;
    this.retryMs = o.retryPeriodMs ?? 2_000;
    if (!(this.retryMs < this.deadlineMs && this.deadlineMs < this.leaseMs))
      throw new Error(
        `leader election: retry period (${this.retryMs} ms) < renew deadline (${this.deadlineMs} ms) < lease duration (${this.leaseMs} ms) is needed`,
      );
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Whether the API server answered about the Lease within one lease duration. */
  get inContact(): boolean {
    return Date.now() - this.contact < this.leaseMs;
  }

  /** Campaigns, then leads, until `signal` aborts (the Lease is then given back) or leadership is lost. */
  async run(signal: AbortSignal): Promise<void> {
    const log = this.o.log ?? (() => {});
    while (!signal.aborted && !this.leading) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        log(`leading (Lease ${this.o.namespace}/${this.o.name})`);
        this.o.onStartedLeading();
        break;
      }
      await sleep(this.retryMs * (1 + Math.random() * 0.2), signal);
    }
    let renewed = Date.now();
    while (!signal.aborted && this.leading) {
      await sleep(this.retryMs, signal);
      if (signal.aborted) break;
      // a renewal that hangs counts as failed once the deadline has passed (the request is not waited for)
      const left = this.deadlineMs - (Date.now() - renewed);
      const ok = await Promise.race([
        this.tryAcquireOrRenew(),
        sleep(Math.max(0, left), signal).then(() => false),
      ]);
      if (ok) renewed = Date.now();
      else if (Date.now() - renewed >= this.deadlineMs) {
        this.leading = false;
        log(`lost the Lease: no renewal for ${this.deadlineMs} ms`);
        this.o.onStoppedLeading();
        return;
      }
    }
    if (this.leading) {
      await this.release();
      this.leading = false;
      log('gave the Lease back');
      this.o.onStoppedLeading();
    }
  }

  /** One round: read the Lease, then create or replace it naming this candidate when it may. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.o;
    const now = Date.now();
    const spec = (transitions: number, acquired?: Date) => ({
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
      acquireTime: new V1MicroTime(acquired ?? now),
      renewTime: new V1MicroTime(now),
      leaseTransitions: transitions,
    });
    let lease: V1Lease | undefined;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (e) {
      if (statusOf(e) !== 404) return this.failed('read', e);
    }
    this.contact = Date.now();
    this.seen.observe(lease, now);
    try {
      if (!lease) {
        await this.api.createNamespacedLease({
          namespace,
          body: { metadata: { name, namespace }, spec: spec(0) },
        });
      } else {
        if (!this.seen.mayTake(lease, identity, now, this.leaseMs))
          return false;
        const mine = lease.spec?.holderIdentity === identity;
        const transitions = lease.spec?.leaseTransitions ?? 0;
        const updated = await this.api.replaceNamespacedLease({
          name,
          namespace,
          body: {
            metadata: lease.metadata,
            spec: mine
              ? spec(transitions, lease.spec?.acquireTime)
              : spec(transitions + 1),
          },
        });
        this.seen.observe(updated, now);
      }
      this.contact = Date.now();
      return true;
    } catch (e) {
      // 409: another candidate wrote first (it holds the Lease now)
      if (statusOf(e) === 409) return false;
      return this.failed('write', e);
    }
  }

  private failed(what: string, e: unknown): false {
    this.o.log?.(
      `leader election: ${what} Lease ${this.o.namespace}/${this.o.name}: ${(e as Error).message}`,
    );
    return false;
  }

  /** Clears the holder so that a standby need not wait out the lease. */
  private async release(): Promise<void> {
    const { namespace, name, identity } = this.o;
    try {
      const lease = await this.api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          metadata: lease.metadata,
          spec: {
            ...lease.spec,
            holderIdentity: undefined,
            leaseDurationSeconds: 1,
            renewTime: new V1MicroTime(Date.now()),
          },
        },
      });
    } catch (e) {
      this.failed('release', e);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
