/**
 * The recorder: the one writer of what the cluster says about a restore (its phase and, at the end, bytes,
 * duration and error), of the metrics, and of the lifecycle notifications. It runs from the scheduled
 * reconciliation and from the watches it starts itself when a Job is created, never from a read: GET, list
 * and the event stream only merge the live status into what they return (views.ts).
 */
import { LoggerService } from '@backstage/backend-plugin-api';
import type { ApprovalState } from '@kube-restore/backstage-plugin-restore-common';
import {
  RestoreStatus,
  formatBytes,
  isTerminalPhase,
} from '@kube-restore/common';
import { getRestore, watchRestore } from '@kube-restore/core';
import { metrics } from '@opentelemetry/api';
import { ClusterRegistry } from './clusters';
import { RestoreNotifier } from './notifier';
import { ACTIVE_PHASES } from './policy';
import { RestoreRecord, RestoreStore } from './RestoreStore';
import { isLive, linkOf, recordFieldsOf } from './views';

export class RestoreRecorder {
  private readonly meter = metrics.getMeter('kube-restore');
  private readonly outcomes = this.meter.createCounter(
    'kube_restore.restores',
    {
      description:
        'Restores that ended, by outcome (Succeeded, Failed, Rejected)',
    },
  );
  private readonly bytesRestored = this.meter.createCounter(
    'kube_restore.bytes_restored',
    { description: 'Bytes written by restores that succeeded', unit: 'By' },
  );
  private readonly durations = this.meter.createHistogram(
    'kube_restore.duration',
    { description: 'Duration of restores that ended', unit: 's' },
  );
  /** Watches started by `follow`, stopped on shutdown. */
  private readonly following = new Map<string, AbortController>();

  constructor(
    private readonly options: {
      store: RestoreStore;
      clusters: ClusterRegistry;
      notifier: RestoreNotifier;
      logger: LoggerService;
    },
  ) {}

  /** Writes what the cluster says into the record; counts and notifies once, on the transition to a terminal phase. */
  async observe(
    record: RestoreRecord,
    status: RestoreStatus,
  ): Promise<RestoreRecord> {
    if (record.phase === status.phase) return record;
    const fields = recordFieldsOf(status);
    const changed = await this.options.store.update(
      record.id,
      fields,
      record.phase,
    );
    if (changed && isTerminalPhase(status.phase)) {
      this.outcomes.add(1, { outcome: status.phase });
      await this.options.notifier.notify({
        recipients: [record.requester],
        title: `Restore into ${record.namespace}/${record.pvc} ${status.phase === 'Succeeded' ? 'succeeded' : 'failed'}`,
        description:
          status.phase === 'Succeeded'
            ? `${record.source} restored: ${status.result?.objects ?? 0} objects, ${formatBytes(status.result?.bytes ?? 0)}.`
            : `${record.source}: ${status.error?.code ?? 'UNKNOWN'} ${status.error?.message ?? ''}`.trim(),
        severity: status.phase === 'Succeeded' ? 'normal' : 'high',
        link: linkOf(record),
      });
      if (status.phase === 'Succeeded' && fields.bytes)
        this.bytesRestored.add(fields.bytes);
      if (fields.durationMs !== undefined)
        this.durations.record(fields.durationMs / 1000, {
          outcome: status.phase,
        });
    }
    return (await this.options.store.get(record.id)) ?? record;
  }

  /** Brings one live record up to date from the cluster; a failure to read leaves it as it is (and is logged). */
  async refresh(record: RestoreRecord): Promise<RestoreRecord> {
    if (!isLive(record)) return record;
    try {
      const status = await getRestore(
        this.options.clusters.clientsFor(record.cluster),
        record.namespace,
        record.name,
        { progress: false },
      );
      return await this.observe(record, status);
    } catch (error) {
      this.options.logger.warn(
        `could not read restore ${record.namespace}/${record.name} from ${record.cluster}: ${(error as Error).message}`,
      );
      return record;
    }
  }

  /** Every running restore's record brought up to date (run on a schedule); returns how many ended. */
  async reconcile(filter: { cluster?: string; namespace?: string } = {}) {
    const active = await this.options.store.list({
      ...filter,
      phases: ACTIVE_PHASES,
      limit: 10000,
    });
    let ended = 0;
    for (const record of active) {
      const updated = await this.refresh(record);
      if (
        updated.phase !== record.phase &&
        isTerminalPhase(updated.phase as never)
      )
        ended++;
    }
    return ended;
  }

  /**
   * Follows a restore whose Job was just created until it ends, recording each change (not tied to any
   * request). A watch that fails is left to the reconciliation.
   */
  follow(record: RestoreRecord): void {
    if (this.following.has(record.id)) return;
    const controller = new AbortController();
    this.following.set(record.id, controller);
    const run = async () => {
      let current = record;
      for await (const status of watchRestore(
        this.options.clusters.clientsFor(record.cluster),
        record.namespace,
        record.name,
        { signal: controller.signal },
      )) {
        current = await this.observe(current, status);
        if (isTerminalPhase(status.phase)) return;
      }
    };
    run()
      .catch(error => {
        if (!controller.signal.aborted)
          this.options.logger.warn(
            `stopped following restore ${record.namespace}/${record.name}: ${(error as Error).message}; the reconciliation takes over`,
          );
      })
      .finally(() => this.following.delete(record.id));
  }

  /** Stops every watch (plugin shutdown). */
  stop(): void {
    for (const controller of this.following.values()) controller.abort();
    this.following.clear();
  }

  /** A restore now waits for approval: its approvers hear of it. */
  async awaitingApproval(
    record: RestoreRecord,
    reasons: ApprovalState['reasons'],
  ): Promise<void> {
    await this.options.notifier.notify({
      recipients: [...new Set(reasons.flatMap(r => r.approvers))],
      title: `Restore into ${record.namespace}/${record.pvc} needs your approval`,
      description: `${record.requester} asks to restore ${record.source} for ${record.entityRef}: ${reasons.map(r => r.reason).join('; ')}.`,
      link: linkOf(record),
    });
  }

  /** A restore was rejected: counted, and its requester hears of it. */
  async rejected(
    record: RestoreRecord,
    by: string,
    comment: string | undefined,
  ): Promise<void> {
    this.outcomes.add(1, { outcome: 'Rejected' });
    await this.options.notifier.notify({
      recipients: [record.requester],
      title: `Restore into ${record.namespace}/${record.pvc} was rejected`,
      description: `${by} rejected the restore of ${record.source}${comment ? `: ${comment}` : ''}.`,
      link: linkOf(record),
    });
  }
}
