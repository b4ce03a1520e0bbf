/**
 * The restore backend's HTTP API as both sides see it (plugins/backstage-backend/src/schema/openapi.yaml).
 * Restore contents (status, progress, phases, sizes) are @kube-restore/common's types.
 */
import type {
  AccessCheck,
  RestorePhase,
  RestoreRequest,
  RestoreStatus,
  SourceSize,
  TargetPvcInfo,
} from '@kube-restore/common';

/** Phases of a record: the cluster's, plus `Rejected` (an approver said no; nothing was ever created). */
export type RecordPhase = RestorePhase | 'Rejected';

export interface ApprovalState {
  required: boolean;
  /** Rules that matched, with why. */
  reasons: { rule: string; reason: string; approvers: string[] }[];
  decision?: {
    state: 'approved' | 'rejected';
    by: string;
    at: string;
    comment?: string;
  };
}

/** What the API returns for one restore: the record, with the live status from the cluster when there is one. */
export interface RestoreView {
  id: string;
  entityRef: string;
  cluster: string;
  namespace: string;
  name: string;
  pvc: string;
  sourceName: string;
  source: string;
  requester: string;
  phase: RecordPhase;
  approval?: ApprovalState;
  plannedBytes?: number;
  bytes?: number;
  durationMs?: number;
  error?: { code?: string; message: string };
  createdAt: string;
  updatedAt: string;
  jobCreatedAt?: string;
  finishedAt?: string;
  deletedAt?: string;
  /** Live status from the cluster (absent while pending approval, and once the Job has expired). */
  status?: RestoreStatus;
}

export interface PlanResult {
  name: string;
  entityRef: string;
  cluster: string;
  namespace: string;
  source: string;
  /** The request as it would be created (credentials are only ever a Secret reference). */
  request: RestoreRequest;
  size?: SourceSize;
  sizeError?: string;
  /** The size the new PVC would get. */
  pvcSize?: string;
  /** Whether the data fits the new PVC's size or the existing one's capacity (unknown when either is unknown). */
  fits?: boolean;
  /** The target PVC as the operator sees it: whether it exists, its capacity, whether kube-restore made it. */
  pvc: TargetPvcInfo;
  /**
   * What would make the restore fail in the cluster, in words (existing PVC, archived objects without a
   * tier, too small, unreadable source, missing rights): core's planRestore, the same as `kubectl restore plan`.
   */
  problems: string[];
  approval: { required: boolean; reasons: ApprovalState['reasons'] };
  /** Limits this restore would break; create refuses it with 429 then. */
  quota: { ok: boolean; problems: string[] };
  /** RBAC preflight as the operator identity in the target namespace. */
  access: { allowed: boolean; checks: AccessCheck[]; error?: string };
}

export interface NamespaceRestoreItem {
  pvc: string;
  restore?: RestoreView;
  error?: { name: string; message: string };
}
