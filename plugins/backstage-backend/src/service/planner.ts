/**
 * Planning a restore from Backstage: what the source holds, the target PVC, access and problems from core's
 * planRestore (the same as `kubectl restore plan`), plus what is Backstage's: approvals and limits. Nothing
 * is read from the namespace or the source before the permission framework and the namespace's consent agree.
 */
import {
  PlanResult,
  restoreCreatePermission,
} from '@kube-restore/backstage-plugin-restore-common';
import { describeSource } from '@kube-restore/common';
import {
  DEFAULT_S3_DEADLINE_MS,
  deadline,
  planRestore,
} from '@kube-restore/core';
import { RestoreConfig } from '../config';
import { Caller, RestoreAccess, requesterOf } from './access';
import { ClusterRegistry } from './clusters';
import { NamespaceConsentPolicy } from './consent';
import { EntityTargets } from './entities';
import { RestorePolicy, countedBytes } from './policy';
import { RestoreStore } from './RestoreStore';
import { buildRequest } from './requests';
import { RestoreBody } from './schemas';

export class RestorePlanner {
  constructor(
    private readonly options: {
      config: RestoreConfig;
      entities: EntityTargets;
      access: RestoreAccess;
      consent: NamespaceConsentPolicy;
      clusters: ClusterRegistry;
      policy: RestorePolicy;
      store: RestoreStore;
    },
  ) {}

  async plan(body: RestoreBody, caller: Caller): Promise<PlanResult> {
    const target = await this.options.entities.resolve(
      body.entityRef,
      caller.credentials,
    );
    await this.options.access.authorize(
      restoreCreatePermission,
      target,
      caller.credentials,
      'plan restores for',
      'read', // a plan writes nothing: a service plans as it reads (access.ts)
    );
    // Before anything is read from the namespace or the source: a refusal reveals nothing about them.
    await this.options.consent.require(target);
    const { request, keys } = buildRequest(
      this.options.config,
      this.options.clusters,
      body,
      target,
    );
    // Core's plan, the same as `kubectl restore plan`: source size, target PVC, access, problems.
    const plan = await planRestore(
      this.options.clusters.clientsFor(target.cluster),
      request,
      {
        credentials: keys,
        overagePercent: this.options.config.defaults.overagePercent,
        withSecret: !!keys,
        signal: deadline(DEFAULT_S3_DEADLINE_MS),
      },
    );
    const quota = [
      ...this.options.policy.sizeProblems(request, plan.size),
      ...(await this.options.policy.countProblems(
        this.options.store,
        { ...target, requester: requesterOf(caller.credentials) },
        countedBytes(plan.size),
      )),
    ];
    const approvalReasons = this.options.policy.approvalReasons(
      request,
      plan.size,
    );
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
}
