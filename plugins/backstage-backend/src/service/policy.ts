/**
 * The rules of config applied to one restore: which approvals it needs, which limits it breaks, who may
 * approve it. Counting limits reads the store it is handed: create calls it inside the store's exclusive
 * transaction, so parallel requests cannot all pass a limit that only one of them fits.
 */
import {
  BackstageCredentials,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
import type {
  ApprovalState,
  RecordPhase,
} from '@kube-restore/backstage-plugin-restore-common';
import {
  RestoreRequest,
  SourceSize,
  formatBytes,
  parseQuantity,
} from '@kube-restore/common';
import { RestoreConfig } from '../config';
import { RestoreRecord, RestoreStore } from './RestoreStore';

/** Records whose restore occupies the namespace: accepted and not ended. */
export const ACTIVE_PHASES: RecordPhase[] = [
  'Pending',
  'Planning',
  'Thawing',
  'Restoring',
  'Verifying',
];
const DAY_MS = 24 * 3600 * 1000;

/**
 * The bytes limits and approval rules count: what the source holds, or for an archive whose unpacked size
 * had to be estimated, the larger estimate (an uncertain size is taken at its worst).
 */
export function countedBytes(size: SourceSize | undefined): number | undefined {
  if (!size) return undefined;
  return size.estimated ? Math.max(size.bytes, size.diskBytes) : size.bytes;
}

function describeBytes(size: SourceSize): string {
  return size.estimated
    ? `about ${formatBytes(countedBytes(size)!)} unpacked (estimated from a compressed archive of ${formatBytes(size.bytes)})`
    : formatBytes(size.bytes);
}

/** Who and where a restore counts against. */
export interface LimitSubject {
  cluster: string;
  namespace: string;
  ownerRef?: string;
  requester: string;
}

export class RestorePolicy {
  constructor(
    private readonly config: RestoreConfig,
    private readonly userInfo: UserInfoService,
  ) {}

  /** Whether create must size the source before deciding (auto size, byte limits, byte approval rules). */
  needsSize(request: RestoreRequest): boolean {
    const { limits, approval } = this.config;
    return (
      (request.target.mode === 'new' && request.target.size === 'auto') ||
      limits.maxBytesPerRestore !== undefined ||
      limits.bytesPerDayPerOwner !== undefined ||
      limits.bytesPerDayPerUser !== undefined ||
      approval.rules.some(r => r.aboveBytes !== undefined)
    );
  }

  approvalReasons(
    request: RestoreRequest,
    size: SourceSize | undefined,
  ): ApprovalState['reasons'] {
    const bytes = countedBytes(size);
    const reasons: ApprovalState['reasons'] = [];
    for (const rule of this.config.approval.rules) {
      const tier = request.source.archive.tier;
      if (rule.tiers?.length && tier !== 'fail' && rule.tiers.includes(tier)) {
        reasons.push({
          rule: rule.name,
          reason: `thaws archived objects with the ${tier} tier`,
          approvers: rule.approvers,
        });
      } else if (
        rule.aboveBytes !== undefined &&
        bytes !== undefined &&
        bytes > parseQuantity(rule.aboveBytes)
      ) {
        reasons.push({
          rule: rule.name,
          reason: `restores ${describeBytes(size!)}, more than ${rule.aboveBytes}`,
          approvers: rule.approvers,
        });
      }
    }
    return reasons;
  }

  /** Limits on one restore by itself: its data and the PVC it asks for, each at most maxBytesPerRestore. */
  sizeProblems(
    request: RestoreRequest,
    size: SourceSize | undefined,
  ): string[] {
    const max = this.config.limits.maxBytesPerRestore;
    if (!max) return [];
    const limit = parseQuantity(max);
    const problems: string[] = [];
    const bytes = countedBytes(size);
    if (bytes !== undefined && bytes > limit)
      problems.push(
        `it restores ${describeBytes(size!)}, more than the limit of ${max} per restore (kubeRestore.limits.maxBytesPerRestore)`,
      );
    const { mode, size: asked } = request.target as {
      mode: string;
      size?: string;
    };
    if (
      mode === 'new' &&
      asked &&
      asked !== 'auto' &&
      parseQuantity(asked) > limit
    )
      problems.push(
        `it asks for a PVC of ${asked}, more than the limit of ${max} per restore (kubeRestore.limits.maxBytesPerRestore)`,
      );
    return problems;
  }

  /**
   * Limits that count other restores: running in the namespace; per owner and per requesting user in the
   * last 24 hours. Reads `store`, which create passes inside its exclusive transaction.
   */
  async countProblems(
    store: RestoreStore,
    subject: LimitSubject,
    bytes: number | undefined,
  ): Promise<string[]> {
    return [
      ...(await this.concurrencyProblems(store, subject)),
      ...(await this.dailyProblems(store, subject, bytes)),
    ];
  }

  /** Restores running in the namespace against concurrentRestoresPerNamespace (also checked on approval). */
  async concurrencyProblems(
    store: RestoreStore,
    subject: LimitSubject,
  ): Promise<string[]> {
    const { limits } = this.config;
    const problems: string[] = [];
    if (limits.concurrentRestoresPerNamespace) {
      const running = (
        await store.list({
          cluster: subject.cluster,
          namespace: subject.namespace,
          phases: ACTIVE_PHASES,
          limit: 10000,
        })
      ).length;
      if (running >= limits.concurrentRestoresPerNamespace)
        problems.push(
          `${running} restores are running in namespace ${subject.namespace}, the limit is ${limits.concurrentRestoresPerNamespace} (kubeRestore.limits.concurrentRestoresPerNamespace); wait for one to finish`,
        );
    }
    return problems;
  }

  /** Restores and bytes in the last 24 hours, per owner and per requesting user (pending ones count). */
  async dailyProblems(
    store: RestoreStore,
    subject: LimitSubject,
    bytes: number | undefined,
  ): Promise<string[]> {
    const { limits } = this.config;
    const problems: string[] = [];
    const perDay = async (
      who: string,
      filter: { ownerRef: string } | { requester: string },
      count: number | undefined,
      bytesLimit: string | undefined,
      key: 'Owner' | 'User',
    ) => {
      if (!count && !bytesLimit) return;
      const today = (
        await store.list({
          ...filter,
          createdSince: new Date(Date.now() - DAY_MS).toISOString(),
          includeDeleted: true,
          limit: 10000,
        })
      ).filter((r: RestoreRecord) => r.phase !== 'Rejected');
      if (count && today.length >= count)
        problems.push(
          `${who} made ${today.length} restores in the last 24 hours, the limit is ${count} (kubeRestore.limits.restoresPerDayPer${key})`,
        );
      if (bytesLimit && bytes !== undefined) {
        const used = today.reduce((n, r) => n + (r.plannedBytes ?? 0), 0);
        if (used + bytes > parseQuantity(bytesLimit))
          problems.push(
            `${who} restored ${formatBytes(used)} in the last 24 hours; ${formatBytes(bytes)} more passes the limit of ${bytesLimit} (kubeRestore.limits.bytesPerDayPer${key})`,
          );
      }
    };
    if (subject.ownerRef)
      await perDay(
        subject.ownerRef,
        { ownerRef: subject.ownerRef },
        limits.restoresPerDayPerOwner,
        limits.bytesPerDayPerOwner,
        'Owner',
      );
    await perDay(
      subject.requester,
      { requester: subject.requester },
      limits.restoresPerDayPerUser,
      limits.bytesPerDayPerUser,
      'User',
    );
    return problems;
  }

  /** The caller's ownership entity refs (the user and their groups); none for a service. */
  async ownershipOf(credentials: BackstageCredentials): Promise<string[]> {
    if ((credentials.principal as { type: string }).type !== 'user') return [];
    return (await this.userInfo.getUserInfo(credentials)).ownershipEntityRefs;
  }

  /** Approving needs a person in an approver group of every matched rule (not the requester: see decide). */
  async checkApprover(
    record: RestoreRecord,
    credentials: BackstageCredentials,
  ): Promise<void> {
    const reasons = record.approval?.reasons ?? [];
    if (!reasons.length) return;
    if ((credentials.principal as { type: string }).type !== 'user')
      throw new NotAllowedError('only people approve restores');
    const { ownershipEntityRefs } =
      await this.userInfo.getUserInfo(credentials);
    const missing = reasons.filter(
      r => !r.approvers.some(g => ownershipEntityRefs.includes(g)),
    );
    if (missing.length) {
      throw new NotAllowedError(
        `approving needs a member of ${missing.map(r => `${r.approvers.join(' or ')} (rule ${r.rule})`).join(' and ')}`,
      );
    }
  }
}
