/**
 * Reading restores: one, a list, the event stream, the logs. None of these writes anything: the live status
 * from the cluster is merged into what they return (views.ts), and the recorder alone updates records.
 */
import { LoggerService } from '@backstage/backend-plugin-api';
import { NotAllowedError, NotFoundError } from '@backstage/errors';
import {
  RestoreView,
  restoreReadPermission,
} from '@kube-restore/backstage-plugin-restore-common';
import { RestoreStatus, isTerminalPhase } from '@kube-restore/common';
import { getRestore, restoreLogs, watchRestore } from '@kube-restore/core';
import { toBackstageError } from '../errors';
import { Caller, RestoreAccess } from './access';
import { ClusterRegistry } from './clusters';
import { RestoreRecord, RestoreStore } from './RestoreStore';
import { isLive, toView } from './views';

export class RestoreReads {
  constructor(
    private readonly options: {
      access: RestoreAccess;
      /** Read-only by type: nothing here can write a record (the recorder alone does). */
      store: Pick<RestoreStore, 'list'>;
      clusters: ClusterRegistry;
      logger: LoggerService;
    },
  ) {}

  async get(id: string, caller: Caller): Promise<RestoreView> {
    const record = await this.options.access.authorizedRecord(
      id,
      restoreReadPermission,
      'read restores of',
      caller,
    );
    return toView(record, await this.liveStatus(record, true));
  }

  async list(
    filter: {
      entityRef?: string;
      namespace?: string;
      cluster?: string;
      limit?: number;
    },
    caller: Caller,
  ): Promise<RestoreView[]> {
    // A service without serviceAccess.read sees only the restores of the owners it acts for.
    const records = (await this.options.store.list(filter)).filter(r =>
      this.options.access.mayRead(r, caller.credentials),
    );
    const refs = [...new Set(records.map(r => r.entityRef))];
    const allowed = await this.options.access.allowed(
      restoreReadPermission,
      refs,
      caller.credentials,
    );
    if (
      filter.entityRef &&
      !allowed.has(filter.entityRef) &&
      refs.includes(filter.entityRef)
    ) {
      throw new NotAllowedError(
        `you may not read restores of ${filter.entityRef}`,
      );
    }
    return Promise.all(
      records
        .filter(r => allowed.has(r.entityRef))
        .map(async r => toView(r, await this.liveStatus(r, false))),
    );
  }

  /** Views of one restore as it changes, until it ends (or the caller goes away). */
  async *events(
    id: string,
    caller: Caller,
    signal: AbortSignal,
  ): AsyncGenerator<RestoreView> {
    const { access, clusters } = this.options;
    let record = await access.authorizedRecord(
      id,
      restoreReadPermission,
      'read restores of',
      caller,
    );
    yield toView(record);
    while (record.phase === 'PendingApproval' && !signal.aborted) {
      await new Promise(resolve => setTimeout(resolve, 1000));
      const next = await access.record(id);
      if (next.updatedAt !== record.updatedAt) yield toView(next);
      record = next;
    }
    if (signal.aborted || !isLive(record)) return;
    try {
      for await (const status of watchRestore(
        clusters.clientsFor(record.cluster),
        record.namespace,
        record.name,
        { signal },
      )) {
        yield toView(record, status);
        if (isTerminalPhase(status.phase)) return;
      }
    } catch (error) {
      if (signal.aborted) return;
      throw toBackstageError(error);
    }
  }

  async logs(id: string, tailLines: number | undefined, caller: Caller) {
    const record = await this.options.access.authorizedRecord(
      id,
      restoreReadPermission,
      'read restores of',
      caller,
    );
    if (!record.jobCreatedAt)
      throw new NotFoundError(
        `restore ${record.name} has not started (phase ${record.phase})`,
      );
    try {
      return await restoreLogs(
        this.options.clusters.clientsFor(record.cluster),
        record.namespace,
        record.name,
        { tailLines },
      );
    } catch (error) {
      throw toBackstageError(error);
    }
  }

  /** The cluster's status of a live restore, or undefined (not live, or unreadable: logged, the record stands). */
  private async liveStatus(
    record: RestoreRecord,
    progress: boolean,
  ): Promise<RestoreStatus | undefined> {
    if (!isLive(record)) return undefined;
    try {
      return await getRestore(
        this.options.clusters.clientsFor(record.cluster),
        record.namespace,
        record.name,
        { progress },
      );
    } catch (error) {
      this.options.logger.warn(
        `could not read restore ${record.namespace}/${record.name} from ${record.cluster}: ${(error as Error).message}`,
      );
      return undefined;
    }
  }
}
