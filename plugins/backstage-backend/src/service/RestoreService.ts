/**
 * Restores that change the cluster: create, a namespace restore (one per folder), start (once created or
 * approved), delete. Each call resolves the entity, asks the permission framework, then the namespace's
 * consent, then builds the request (requests.ts) and applies the policy (policy.ts); the recorder records
 * what the cluster does. Plans are in planner.ts, reads in reads.ts, approvals in approvals.ts.
 */
import { AuditorService, LoggerService } from '@backstage/backend-plugin-api';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import {
  NamespaceRestoreItem,
  RestoreView,
  restoreCreatePermission,
  restoreDeletePermission,
} from '@kube-restore/backstage-plugin-restore-common';
import { describeSource, restoreNameOf } from '@kube-restore/common';
import {
  DEFAULT_S3_DEADLINE_MS,
  createRestore,
  deadline,
  deleteRestore,
  listChildPrefixes,
  sizeSource,
} from '@kube-restore/core';
import { randomUUID } from 'node:crypto';
import { RestoreConfig } from '../config';
import { QuotaExceededError, toBackstageError } from '../errors';
import { Caller, RestoreAccess, requesterOf } from './access';
import { ClusterRegistry } from './clusters';
import { NamespaceConsentPolicy } from './consent';
import { EntityTargets } from './entities';
import { RestorePolicy, countedBytes } from './policy';
import { RestoreRecorder } from './recorder';
import { RestoreRecord, RestoreStore } from './RestoreStore';
import { buildRequest } from './requests';
import { NamespaceRestoreBody, RestoreBody } from './schemas';
import { auditMetaOf, toView } from './views';

export interface RestoreServiceOptions {
  config: RestoreConfig;
  logger: LoggerService;
  auditor: AuditorService;
  store: RestoreStore;
  entities: EntityTargets;
  clusters: ClusterRegistry;
  access: RestoreAccess;
  consent: NamespaceConsentPolicy;
  policy: RestorePolicy;
  recorder: RestoreRecorder;
}

export class RestoreService {
  private readonly clusters: ClusterRegistry;
  private readonly consent: NamespaceConsentPolicy;
  private readonly policy: RestorePolicy;

  constructor(private readonly options: RestoreServiceOptions) {
    this.clusters = options.clusters;
    this.consent = options.consent;
    this.policy = options.policy;
  }

  /** Sources users may pick (no credentials, no secret names); where they are only for their `visibleTo`. */
  async listSources(caller: Caller) {
    return this.clusters.listSources(
      await this.policy.ownershipOf(caller.credentials),
    );
  }

  /** Creates a restore, or records it as PendingApproval. Returns the view and whether it waits for approval. */
  async create(
    body: RestoreBody,
    caller: Caller,
  ): Promise<{ view: RestoreView; created: boolean }> {
    const target = await this.options.entities.resolve(
      body.entityRef,
      caller.credentials,
    );
    await this.options.access.authorize(
      restoreCreatePermission,
      target,
      caller.credentials,
      'create restores for',
    );
    await this.consent.require(target);
    const { request, source, keys } = buildRequest(
      this.options.config,
      this.clusters,
      body,
      target,
    );
    const name = restoreNameOf(request);
    const requester = requesterOf(caller.credentials);

    // An explicit PVC size over the limit needs no sizing to refuse.
    const early = this.policy.sizeProblems(request, undefined);
    if (early.length)
      throw new QuotaExceededError(`restore refused: ${early.join('; ')}`);
    // Restores of the namespace that ended since the last reconciliation free their slot first.
    await this.refreshActive(target.cluster, target.namespace);
    const size = this.policy.needsSize(request)
      ? await sizeSource(request.source, {
          credentials: keys,
          overagePercent: this.options.config.defaults.overagePercent,
          signal: deadline(DEFAULT_S3_DEADLINE_MS),
        }).catch(error => Promise.reject(toBackstageError(error)))
      : undefined;
    const reasons = this.policy.approvalReasons(request, size);
    const now = new Date().toISOString();
    const record: RestoreRecord = {
      id: randomUUID(),
      entityRef: target.entityRef,
      ownerRef: target.ownerRef,
      cluster: target.cluster,
      namespace: target.namespace,
      name,
      pvc: request.target.pvc,
      sourceName: source.name,
      source: describeSource(request.source),
      requester,
      phase: reasons.length ? 'PendingApproval' : 'Pending',
      request: { ...request, name },
      plan: size
        ? {
            objects: size.objects,
            bytes: size.bytes,
            recommendedSize: size.recommendedSize,
            archivedObjects: size.archivedObjects,
            estimated: size.estimated,
          }
        : undefined,
      approval: { required: reasons.length > 0, reasons },
      plannedBytes: countedBytes(size),
      createdAt: now,
      updatedAt: now,
    };

    // The same request again answers with the first restore; checks and insert as one step.
    const existing = await this.options.store.exclusive(async store => {
      const same = (
        await store.list({
          cluster: target.cluster,
          namespace: target.namespace,
          limit: 10000,
        })
      ).find(r => r.name === name && r.phase !== 'Rejected');
      if (same) {
        if (
          JSON.stringify(same.request) === JSON.stringify({ ...request, name })
        )
          return same;
        throw new ConflictError(
          `a restore named "${name}" already exists in namespace ${target.namespace}; delete it first or choose another name`,
        );
      }
      const problems = [
        ...this.policy.sizeProblems(request, size),
        ...(await this.policy.countProblems(
          store,
          { ...target, requester },
          record.plannedBytes,
        )),
      ];
      if (problems.length) {
        await this.auditRefusal(record, requester, caller, problems);
        throw new QuotaExceededError(`restore refused: ${problems.join('; ')}`);
      }
      await store.insert(record);
      return undefined;
    });
    if (existing) return { view: toView(existing), created: false };

    const audit = await this.options.auditor.createEvent({
      eventId: 'restore-create',
      severityLevel: 'medium',
      request: caller.request,
      meta: auditMetaOf(record, requester),
    });
    try {
      if (record.phase === 'PendingApproval') {
        await audit.success({
          meta: {
            phase: 'PendingApproval',
            approvers: reasons.flatMap(r => r.approvers),
          },
        });
        await this.options.recorder.awaitingApproval(record, reasons);
        return { view: toView(record), created: false };
      }
      const view = await this.start(record);
      await audit.success({ meta: { phase: view.phase } });
      return { view, created: true };
    } catch (error) {
      await audit.fail({ error: error as Error });
      throw toBackstageError(error);
    }
  }

  /** A create refused by a limit is audited as a failed restore-create (nothing was recorded). */
  private async auditRefusal(
    record: RestoreRecord,
    requester: string,
    caller: Caller,
    problems: string[],
  ) {
    const audit = await this.options.auditor.createEvent({
      eventId: 'restore-create',
      severityLevel: 'medium',
      request: caller.request,
      meta: auditMetaOf(record, requester),
    });
    await audit.fail({
      error: new QuotaExceededError(`restore refused: ${problems.join('; ')}`),
    });
  }

  /** Brings the namespace's running restores up to date from the cluster, so ended ones free their slot. */
  private async refreshActive(cluster: string, namespace: string) {
    if (this.options.config.limits.concurrentRestoresPerNamespace)
      await this.options.recorder.reconcile({ cluster, namespace });
  }

  /**
   * One restore per folder below the source path (each folder a PVC of the same name, new and sized from its
   * data), each through `create` with its permission, quota and approval checks.
   */
  async createForNamespace(
    body: NamespaceRestoreBody,
    caller: Caller,
  ): Promise<NamespaceRestoreItem[]> {
    const target = await this.options.entities.resolve(
      body.entityRef,
      caller.credentials,
    );
    await this.options.access.authorize(
      restoreCreatePermission,
      target,
      caller.credentials,
      'create restores for',
    );
    await this.consent.require(target);
    const path = body.source.path ?? '';
    if (path !== '' && !path.endsWith('/'))
      throw new InputError('source.path: must be a prefix ending in "/"');
    const probe = buildRequest(
      this.options.config,
      this.clusters,
      { ...body, target: { pvc: 'probe', size: '1Gi' } },
      target,
    );
    let folders: string[];
    try {
      folders = await listChildPrefixes(probe.request.source, {
        credentials: probe.keys,
        signal: deadline(DEFAULT_S3_DEADLINE_MS),
      });
    } catch (error) {
      throw toBackstageError(error);
    }
    if (!folders.length)
      throw new NotFoundError(
        `no folders under ${describeSource(probe.request.source)}: nothing to restore`,
      );
    const items: NamespaceRestoreItem[] = [];
    for (const pvc of folders) {
      try {
        const { view } = await this.create(
          {
            entityRef: body.entityRef,
            source: { ...body.source, path: `${path}${pvc}/` },
            target: { pvc, mode: 'new', size: 'auto' },
            options: body.options,
          },
          caller,
        );
        items.push({ pvc, restore: view });
      } catch (error) {
        const e = error as Error & { statusCode?: number };
        items.push({ pvc, error: { name: e.name, message: e.message } });
      }
    }
    return items;
  }

  async delete(
    id: string,
    deletePvc: boolean,
    caller: Caller,
  ): Promise<RestoreView> {
    const record = await this.options.access.authorizedRecord(
      id,
      restoreDeletePermission,
      'delete restores of',
      caller,
    );
    const audit = await this.options.auditor.createEvent({
      eventId: 'restore-delete',
      severityLevel: 'medium',
      request: caller.request,
      meta: {
        ...auditMetaOf(record, record.requester),
        actor: requesterOf(caller.credentials),
        deletePvc,
      },
    });
    try {
      let pvcDeleted: string | undefined;
      if (record.jobCreatedAt) {
        // Deleting writes in the namespace (the Job, and the PVC when asked): only while it consents.
        await this.consent.require(record);
        try {
          pvcDeleted = (
            await deleteRestore(
              this.clusters.clientsFor(record.cluster),
              record.namespace,
              record.name,
              { deletePvc },
            )
          ).pvc;
        } catch (error) {
          // The Job may have expired (TTL): the record is still deleted.
          if (!((error as { kind?: string }).kind === 'NotFound')) throw error;
        }
      }
      const deletedAt = new Date().toISOString();
      await this.options.store.update(id, {
        deletedAt,
        ...(record.phase === 'PendingApproval'
          ? { phase: 'Rejected' as const }
          : {}),
      });
      await audit.success({ meta: { pvcDeleted: pvcDeleted ?? null } });
      return toView(await this.options.access.record(id));
    } catch (error) {
      await audit.fail({ error: error as Error });
      throw toBackstageError(error);
    }
  }

  /**
   * Creates a recorded restore in the cluster (now, or once approved) and follows it; a failure is recorded
   * on the restore. The PVC size is the plan's recommendation when the request says auto.
   */
  async start(record: RestoreRecord): Promise<RestoreView> {
    const resolvedSize = record.plan?.recommendedSize as string | undefined;
    const keys = this.clusters.keysOf(this.clusters.source(record.sourceName));
    try {
      const result = await createRestore(
        this.clusters.clientsFor(record.cluster),
        record.request,
        {
          image: this.options.config.defaults.image,
          resolvedSize,
          credentials: keys,
          requester: record.requester,
          // Without the source's keys core lists nothing for the bounds: the backend's own
          // identity is not the requester's.
          signal: deadline(DEFAULT_S3_DEADLINE_MS),
        },
      );
      await this.options.store.update(record.id, {
        jobCreatedAt: new Date().toISOString(),
      });
      const updated = await this.options.recorder.observe(
        await this.options.access.record(record.id),
        result.status,
      );
      this.options.recorder.follow(updated);
      this.options.logger.info(
        `restore ${record.name} created in ${record.cluster}/${record.namespace} for ${record.entityRef} by ${record.requester}`,
      );
      return toView(updated, result.status);
    } catch (error) {
      const translated = toBackstageError(error);
      await this.options.store.update(record.id, {
        phase: 'Failed',
        errorMessage: `could not create the restore: ${translated.message}`,
        finishedAt: new Date().toISOString(),
      });
      throw translated;
    }
  }
}
