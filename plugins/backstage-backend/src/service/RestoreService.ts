/**
 * The restore service decides: who may restore what, where it goes, whether it fits the limits, whether it
 * needs an approval, and what history to keep. It is thin over @kube-restore/core; the router only translates.
 */
import {
  AuditorService,
  BackstageCredentials,
  LoggerService,
  PermissionsService,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import {
  ConflictError,
  InputError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import {
  AuthorizeResult,
  ResourcePermission,
} from '@backstage/plugin-permission-common';
import {
  ArchiveTier,
  RestoreRequest,
  RestoreRequestInput,
  RestoreStatus,
  describeSource,
  formatBytes,
  isTerminalPhase,
  restoreNameOf,
  safeParseRestoreRequest,
} from '@kube-restore/common';
import {
  S3Keys,
  backupExists,
  createRestore,
  deleteRestore,
  getRestore,
  listChildPrefixes,
  planRestore,
  restoreLogs,
  sizeSource,
  watchRestore,
  BackupDecision,
} from '@kube-restore/core';
import { metrics } from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import { RestoreConfig, SourceConfig, fillTemplate } from '../config';
import { QuotaExceededError, toBackstageError } from '../errors';
import {
  ApprovalState,
  NamespaceRestoreItem,
  PlanResult,
  RecordPhase,
  RestoreView,
  restoreApprovePermission,
  restoreCreatePermission,
  restoreDeletePermission,
  restoreReadPermission,
} from '@kube-restore/backstage-plugin-restore-common';
import { requesterOf } from './access';
import { ClusterRegistry } from './clusters';
import { NamespaceConsentPolicy } from './consent';
import { ACTIVE_PHASES, RestorePolicy, countedBytes } from './policy';
import { EntityTarget, EntityTargets } from './entities';
import { RestoreNotifier, noNotifications } from './notifier';
import { RestoreRecord, RestoreStore } from './RestoreStore';
import { NamespaceRestoreBody, RestoreBody } from './schemas';

/** Who is asking, and the HTTP request for the audit log. */
export interface Caller {
  credentials: BackstageCredentials;
  request?: Parameters<AuditorService['createEvent']>[0]['request'];
}

export interface RestoreServiceOptions {
  config: RestoreConfig;
  logger: LoggerService;
  permissions: PermissionsService;
  auditor: AuditorService;
  userInfo: UserInfoService;
  store: RestoreStore;
  entities: EntityTargets;
  notifier?: RestoreNotifier;
  clusters: ClusterRegistry;
  consent: NamespaceConsentPolicy;
}

export function toView(
  record: RestoreRecord,
  status?: RestoreStatus,
): RestoreView {
  return {
    id: record.id,
    entityRef: record.entityRef,
    cluster: record.cluster,
    namespace: record.namespace,
    name: record.name,
    pvc: record.pvc,
    sourceName: record.sourceName,
    source: record.source,
    requester: record.requester,
    phase: record.phase,
    approval: record.approval,
    plannedBytes: record.plannedBytes,
    bytes: record.bytes,
    durationMs: record.durationMs,
    error: record.errorMessage
      ? { code: record.errorCode, message: record.errorMessage }
      : undefined,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    jobCreatedAt: record.jobCreatedAt,
    finishedAt: record.finishedAt,
    deletedAt: record.deletedAt,
    status,
  };
}

export class RestoreService {
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
    {
      description: 'Bytes written by restores that succeeded',
      unit: 'By',
    },
  );
  private readonly durations = this.meter.createHistogram(
    'kube_restore.duration',
    {
      description: 'Duration of restores that ended',
      unit: 's',
    },
  );

  private readonly notifier: RestoreNotifier;
  private readonly clusters: ClusterRegistry;
  private readonly consent: NamespaceConsentPolicy;
  private readonly policy: RestorePolicy;

  constructor(private readonly options: RestoreServiceOptions) {
    this.notifier = options.notifier ?? noNotifications;
    this.clusters = options.clusters;
    this.consent = options.consent;
    this.policy = new RestorePolicy(options.config, options.userInfo);
  }

  /**
   * Brings running restores' records up to date (final phase, bytes, notifications) even when nobody is
   * looking; run on a schedule.
   */
  async reconcile(): Promise<number> {
    const active = await this.options.store.list({
      phases: ACTIVE_PHASES,
      limit: 10000,
    });
    let ended = 0;
    for (const record of active) {
      const view = await this.view(record, { progress: false });
      if (view.phase !== record.phase && isTerminalPhase(view.phase as never))
        ended++;
    }
    return ended;
  }

  private linkOf(record: RestoreRecord): string {
    const [kind, rest] = record.entityRef.split(':');
    const [namespace, name] = rest.split('/');
    return `/catalog/${namespace}/${kind}/${name}/restore?restore=${encodeURIComponent(record.id)}`;
  }

  /** Sources users may pick (no credentials, no secret names). */
  listSources() {
    return this.clusters.listSources();
  }

  // ---- plan and create

  async plan(body: RestoreBody, caller: Caller): Promise<PlanResult> {
    const target = await this.options.entities.resolve(
      body.entityRef,
      caller.credentials,
    );
    await this.authorize(
      restoreCreatePermission,
      target.entityRef,
      caller.credentials,
      'plan restores for',
    );
    // Before anything is read from the namespace or the source: a refusal reveals nothing about them.
    await this.consent.require(target);
    const { request, keys } = this.buildRequest(body, target);
    // Core's plan, the same as `kubectl restore plan`: source size, target PVC, access, problems.
    const plan = await planRestore(
      this.clusters.clientsFor(target.cluster),
      request,
      {
        credentials: keys,
        overagePercent: this.options.config.defaults.overagePercent,
        withSecret: !!keys,
      },
    );
    const quota = [
      ...this.policy.sizeProblems(request, plan.size),
      ...(await this.policy.countProblems(
        this.options.store,
        { ...target, requester: requesterOf(caller.credentials) },
        countedBytes(plan.size),
      )),
    ];
    const approvalReasons = this.policy.approvalReasons(request, plan.size);
    return {
      name: plan.name,
      entityRef: target.entityRef,
      cluster: target.cluster,
      namespace: target.namespace,
      source: describeSource(request.source),
      request,
      size: plan.size,
      sizeError: plan.sourceError,
      pvcSize: plan.pvcSize,
      fits: plan.fits,
      pvc: plan.pvc,
      problems: plan.problems,
      approval: {
        required: approvalReasons.length > 0,
        reasons: approvalReasons,
      },
      quota: { ok: quota.length === 0, problems: quota },
      access: {
        allowed: !plan.accessError && plan.access.every(check => check.allowed),
        checks: plan.access,
        ...(plan.accessError ? { error: plan.accessError } : {}),
      },
    };
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
    await this.authorize(
      restoreCreatePermission,
      target.entityRef,
      caller.credentials,
      'create restores for',
    );
    await this.consent.require(target);
    const { request, source, keys } = this.buildRequest(body, target);
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
    if (existing) return { view: await this.view(existing), created: false };

    const audit = await this.options.auditor.createEvent({
      eventId: 'restore-create',
      severityLevel: 'medium',
      request: caller.request,
      meta: this.auditMeta(record, requester),
    });
    try {
      if (record.phase === 'PendingApproval') {
        await audit.success({
          meta: {
            phase: 'PendingApproval',
            approvers: reasons.flatMap(r => r.approvers),
          },
        });
        await this.notifier.notify({
          recipients: [...new Set(reasons.flatMap(r => r.approvers))],
          title: `Restore into ${record.namespace}/${record.pvc} needs your approval`,
          description: `${requester} asks to restore ${record.source} for ${record.entityRef}: ${reasons.map(r => r.reason).join('; ')}.`,
          link: this.linkOf(record),
        });
        return { view: toView(record), created: false };
      }
      const view = await this.createInCluster(
        record,
        size?.recommendedSize,
        keys,
      );
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
      meta: this.auditMeta(record, requester),
    });
    await audit.fail({
      error: new QuotaExceededError(`restore refused: ${problems.join('; ')}`),
    });
  }

  /** Brings the namespace's active records up to date from the cluster (a write path: create only). */
  private async refreshActive(cluster: string, namespace: string) {
    if (!this.options.config.limits.concurrentRestoresPerNamespace) return;
    const active = await this.options.store.list({
      cluster,
      namespace,
      phases: ACTIVE_PHASES,
      limit: 10000,
    });
    for (const record of active) await this.view(record, { progress: false });
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
    await this.authorize(
      restoreCreatePermission,
      target.entityRef,
      caller.credentials,
      'create restores for',
    );
    await this.consent.require(target);
    const path = body.source.path ?? '';
    if (path !== '' && !path.endsWith('/'))
      throw new InputError('source.path: must be a prefix ending in "/"');
    const probe = this.buildRequest(
      { ...body, target: { pvc: 'probe', size: '1Gi' } },
      target,
    );
    let folders: string[];
    try {
      folders = await listChildPrefixes(probe.request.source, {
        credentials: probe.keys,
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

  // ---- approval

  async approve(
    id: string,
    comment: string | undefined,
    caller: Caller,
  ): Promise<RestoreView> {
    return this.decide(id, 'approved', comment, caller);
  }

  async reject(
    id: string,
    comment: string | undefined,
    caller: Caller,
  ): Promise<RestoreView> {
    return this.decide(id, 'rejected', comment, caller);
  }

  private async decide(
    id: string,
    state: 'approved' | 'rejected',
    comment: string | undefined,
    caller: Caller,
  ) {
    const record = await this.authorizedRecord(
      id,
      restoreApprovePermission,
      'approve restores for',
      caller,
    );
    // Approving creates in the namespace: it must still consent (it may have withdrawn since the request).
    if (state === 'approved') await this.consent.require(record);
    const by = requesterOf(caller.credentials);
    const audit = await this.options.auditor.createEvent({
      eventId: state === 'approved' ? 'restore-approve' : 'restore-reject',
      severityLevel: 'medium',
      request: caller.request,
      meta: {
        ...this.auditMeta(record, record.requester),
        approver: by,
        ...(comment ? { comment } : {}),
      },
    });
    try {
      if (record.phase !== 'PendingApproval' || record.deletedAt) {
        throw new ConflictError(
          `restore ${record.name} is not waiting for approval (phase ${record.phase})`,
        );
      }
      if (by === record.requester)
        throw new NotAllowedError(
          'a restore cannot be approved or rejected by the person who asked for it',
        );
      await this.policy.checkApprover(record, caller.credentials);
      const approval: ApprovalState = {
        ...(record.approval ?? { required: true, reasons: [] }),
        decision: {
          state,
          by,
          at: new Date().toISOString(),
          ...(comment ? { comment } : {}),
        },
      };
      const next: RecordPhase = state === 'approved' ? 'Pending' : 'Rejected';
      // An approved restore starts now: it must fit the namespace's limit, checked and taken as one step.
      const changed = await this.options.store.exclusive(async store => {
        if (state === 'approved') {
          const problems = await this.policy.concurrencyProblems(store, record);
          if (problems.length)
            throw new QuotaExceededError(
              `cannot start the restore yet: ${problems.join('; ')}`,
            );
        }
        return store.update(
          id,
          {
            phase: next,
            approval,
            ...(state === 'rejected'
              ? { finishedAt: approval.decision!.at }
              : {}),
          },
          'PendingApproval',
        );
      });
      if (!changed)
        throw new ConflictError(
          `restore ${record.name} was decided by someone else meanwhile`,
        );
      if (state === 'rejected') {
        this.outcomes.add(1, { outcome: 'Rejected' });
        await this.notifier.notify({
          recipients: [record.requester],
          title: `Restore into ${record.namespace}/${record.pvc} was rejected`,
          description: `${by} rejected the restore of ${record.source}${comment ? `: ${comment}` : ''}.`,
          link: this.linkOf(record),
        });
      }
      const updated = await this.record(id);
      const view =
        state === 'approved'
          ? await this.createInCluster(
              updated,
              (updated.plan?.recommendedSize as string | undefined) ??
                undefined,
              this.clusters.keysOf(this.clusters.source(updated.sourceName)),
            )
          : toView(updated);
      await audit.success({ meta: { phase: view.phase } });
      return view;
    } catch (error) {
      await audit.fail({ error: error as Error });
      throw toBackstageError(error);
    }
  }

  // ---- read

  async get(id: string, caller: Caller): Promise<RestoreView> {
    const record = await this.authorizedRecord(
      id,
      restoreReadPermission,
      'read restores of',
      caller,
    );
    return this.view(record);
  }

  async list(
    filter: {
      entityRef?: string;
      namespace?: string;
      cluster?: string;
      limit?: number;
    },
    caller: Caller,
  ) {
    const records = await this.options.store.list(filter);
    const refs = [...new Set(records.map(r => r.entityRef))];
    const decisions = refs.length
      ? await this.options.permissions.authorize(
          refs.map(resourceRef => ({
            permission: restoreReadPermission,
            resourceRef,
          })),
          { credentials: caller.credentials },
        )
      : [];
    const allowed = new Set(
      refs.filter((_, i) => decisions[i].result === AuthorizeResult.ALLOW),
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
        .map(r => this.view(r, { progress: false })),
    );
  }

  async *events(
    id: string,
    caller: Caller,
    signal: AbortSignal,
  ): AsyncGenerator<RestoreView> {
    let record = await this.authorizedRecord(
      id,
      restoreReadPermission,
      'read restores of',
      caller,
    );
    yield toView(record);
    while (record.phase === 'PendingApproval' && !signal.aborted) {
      await new Promise(resolve => setTimeout(resolve, 1000));
      const next = await this.record(id);
      if (next.updatedAt !== record.updatedAt) yield toView(next);
      record = next;
    }
    if (
      signal.aborted ||
      record.phase === 'Rejected' ||
      record.deletedAt ||
      !record.jobCreatedAt
    )
      return;
    if (isTerminalPhase(record.phase as never)) return;
    try {
      for await (const status of watchRestore(
        this.clusters.clientsFor(record.cluster),
        record.namespace,
        record.name,
        { signal },
      )) {
        record = await this.observe(record, status);
        yield toView(record, status);
      }
    } catch (error) {
      if (signal.aborted) return;
      throw toBackstageError(error);
    }
  }

  async logs(id: string, tailLines: number | undefined, caller: Caller) {
    const record = await this.authorizedRecord(
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
        this.clusters.clientsFor(record.cluster),
        record.namespace,
        record.name,
        { tailLines },
      );
    } catch (error) {
      throw toBackstageError(error);
    }
  }

  async delete(
    id: string,
    deletePvc: boolean,
    caller: Caller,
  ): Promise<RestoreView> {
    const record = await this.authorizedRecord(
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
        ...this.auditMeta(record, record.requester),
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
      return toView(await this.record(id));
    } catch (error) {
      await audit.fail({ error: error as Error });
      throw toBackstageError(error);
    }
  }

  /** pvc-plumber's question for a new PVC: restore, fresh, or unknown. */
  async exists(namespace: string, pvc: string): Promise<BackupDecision> {
    const layout = this.options.config.exists;
    if (!layout)
      return {
        decision: 'unknown',
        reason: 'kubeRestore.exists is not configured',
      };
    const source = this.clusters.source(layout.source);
    return backupExists(
      namespace,
      pvc,
      {
        source: {
          endpoint: source.endpoint,
          region: source.region,
          pathStyle: source.pathStyle ?? !!source.endpoint,
          bucket: source.bucket,
        },
        template: layout.template,
      },
      { credentials: this.clusters.keysOf(source) },
    );
  }

  // ---- internals

  private async authorize(
    permission: ResourcePermission<'catalog-entity'>,
    entityRef: string,
    credentials: BackstageCredentials,
    what: string,
  ) {
    const [decision] = await this.options.permissions.authorize(
      [{ permission, resourceRef: entityRef }],
      { credentials },
    );
    if (decision.result !== AuthorizeResult.ALLOW)
      throw new NotAllowedError(`you may not ${what} ${entityRef}`);
  }

  /** The record of a restore, once the caller may act on its entity (NotFound before NotAllowed). */
  private async authorizedRecord(
    id: string,
    permission: ResourcePermission<'catalog-entity'>,
    what: string,
    caller: Caller,
  ): Promise<RestoreRecord> {
    const record = await this.record(id);
    await this.authorize(
      permission,
      record.entityRef,
      caller.credentials,
      what,
    );
    return record;
  }

  private async record(id: string): Promise<RestoreRecord> {
    const record = await this.options.store.get(id);
    if (!record) throw new NotFoundError(`restore ${id} not found`);
    return record;
  }

  /** Body + entity -> a validated RestoreRequest; credentials only as a reference, keys handed over separately. */
  buildRequest(
    body: RestoreBody,
    target: EntityTarget,
  ): { request: RestoreRequest; source: SourceConfig; keys?: S3Keys } {
    const source = this.clusters.source(body.source.name);
    const { defaults } = this.options.config;
    const path = body.source.path ?? '';
    if (
      path.startsWith('/') ||
      path.split('/').some(part => part === '..' || part === '.')
    ) {
      throw new InputError(
        'source.path: must be relative to the source prefix, without "." or ".." segments',
      );
    }
    const tier = body.source.archiveTier ?? 'fail';
    if (tier !== 'fail' && !source.archiveTiers.includes(tier as ArchiveTier)) {
      const allowed = source.archiveTiers.length
        ? `allowed: ${source.archiveTiers.join(', ')}`
        : 'archived objects cannot be thawed from it';
      throw new InputError(
        `source.archiveTier: "${tier}" is not allowed for source ${source.name} (${allowed})`,
      );
    }
    let prefix: string;
    try {
      prefix = fillTemplate(source.prefix, {
        namespace: target.namespace,
        entity: target.entity.metadata.name,
        kind: target.entity.kind.toLocaleLowerCase('en-US'),
        entityNamespace: target.entity.metadata.namespace ?? 'default',
        cluster: target.cluster,
      });
    } catch (error) {
      throw new InputError(
        `source ${source.name}: ${(error as Error).message}`,
      );
    }
    const location = prefix + path;
    const keys = this.clusters.keysOf(source);
    const input: RestoreRequestInput = {
      ...(body.name !== undefined ? { name: body.name } : {}),
      source: {
        ...(source.endpoint ? { endpoint: source.endpoint } : {}),
        region: source.region,
        bucket: source.bucket,
        ...(source.pathStyle !== undefined
          ? { pathStyle: source.pathStyle }
          : {}),
        ...(location === '' || location.endsWith('/')
          ? { prefix: location }
          : { key: location }),
        ...(body.source.format ? { format: body.source.format } : {}),
        ...(body.source.include ? { include: body.source.include } : {}),
        ...(body.source.exclude ? { exclude: body.source.exclude } : {}),
        ...(body.source.stripPrefix !== undefined
          ? { stripPrefix: body.source.stripPrefix }
          : {}),
        ...(body.source.asOf !== undefined ? { asOf: body.source.asOf } : {}),
        archive: { tier },
      },
      target: {
        ...(body.target as Record<string, unknown>),
        namespace: target.namespace,
        ...((body.target.mode ?? 'new') === 'new' &&
        !body.target.storageClassName &&
        defaults.storageClassName
          ? { storageClassName: defaults.storageClassName }
          : {}),
      } as RestoreRequestInput['target'],
      credentials: source.credentials?.secretName
        ? { type: 'secret', secretName: source.credentials.secretName }
        : { type: 'none' },
      options: {
        ...(defaults.ttlSecondsAfterFinished !== undefined
          ? { ttlSecondsAfterFinished: defaults.ttlSecondsAfterFinished }
          : {}),
        ...(defaults.activeDeadlineSeconds !== undefined
          ? { activeDeadlineSeconds: defaults.activeDeadlineSeconds }
          : {}),
        ...(body.options ?? {}),
      } as RestoreRequestInput['options'],
    };
    const parsed = safeParseRestoreRequest(input);
    if (!parsed.ok) {
      throw new InputError(
        `invalid restore request: ${parsed.problems.map(p => `${p.path || '(request)'}: ${p.message}`).join('; ')}`,
      );
    }
    return { request: parsed.request, source, keys };
  }

  private async createInCluster(
    record: RestoreRecord,
    resolvedSize: string | undefined,
    keys: S3Keys | undefined,
  ): Promise<RestoreView> {
    try {
      const result = await createRestore(
        this.clusters.clientsFor(record.cluster),
        record.request,
        {
          image: this.options.config.defaults.image,
          resolvedSize,
          credentials: keys,
          requester: record.requester,
        },
      );
      await this.options.store.update(record.id, {
        jobCreatedAt: new Date().toISOString(),
      });
      const updated = await this.observe(
        await this.record(record.id),
        result.status,
      );
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

  /** Writes what the cluster says into the record; counts the outcome once, on the transition to a terminal phase. */
  private async observe(
    record: RestoreRecord,
    status: RestoreStatus,
  ): Promise<RestoreRecord> {
    if (record.phase === status.phase) return record;
    const fields: Partial<RestoreRecord> = { phase: status.phase };
    if (isTerminalPhase(status.phase)) {
      fields.finishedAt = status.finishedAt ?? new Date().toISOString();
      if (status.result) {
        fields.bytes = status.result.bytes;
        fields.durationMs = status.result.durationMs;
      } else if (status.durationSeconds !== undefined) {
        fields.durationMs = status.durationSeconds * 1000;
      }
      if (status.error) {
        fields.errorCode = status.error.code;
        fields.errorMessage = status.error.message;
      }
    }
    const changed = await this.options.store.update(
      record.id,
      fields,
      record.phase,
    );
    if (changed && isTerminalPhase(status.phase)) {
      this.outcomes.add(1, { outcome: status.phase });
      await this.notifier.notify({
        recipients: [record.requester],
        title: `Restore into ${record.namespace}/${record.pvc} ${status.phase === 'Succeeded' ? 'succeeded' : 'failed'}`,
        description:
          status.phase === 'Succeeded'
            ? `${record.source} restored: ${status.result?.objects ?? 0} objects, ${formatBytes(status.result?.bytes ?? 0)}.`
            : `${record.source}: ${status.error?.code ?? 'UNKNOWN'} ${status.error?.message ?? ''}`.trim(),
        severity: status.phase === 'Succeeded' ? 'normal' : 'high',
        link: this.linkOf(record),
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

  /** The record with the live status merged in, when the Job exists and has not ended. */
  private async view(
    record: RestoreRecord,
    options: { progress?: boolean } = {},
  ): Promise<RestoreView> {
    if (
      !record.jobCreatedAt ||
      record.deletedAt ||
      record.phase === 'Rejected' ||
      isTerminalPhase(record.phase as never)
    ) {
      return toView(record);
    }
    try {
      const status = await getRestore(
        this.clusters.clientsFor(record.cluster),
        record.namespace,
        record.name,
        options,
      );
      return toView(await this.observe(record, status), status);
    } catch (error) {
      this.options.logger.warn(
        `could not read restore ${record.namespace}/${record.name} from ${record.cluster}: ${(error as Error).message}`,
      );
      return toView(record);
    }
  }

  private auditMeta(record: RestoreRecord, requester: string) {
    return {
      id: record.id,
      actor: requester,
      entityRef: record.entityRef,
      cluster: record.cluster,
      namespace: record.namespace,
      restore: record.name,
      pvc: record.pvc,
      sourceName: record.sourceName,
      source: record.source,
    };
  }
}
