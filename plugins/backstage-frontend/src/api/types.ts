/**
 * The shapes of the restore backend's HTTP API (plugins/backstage-backend/src/schema/openapi.yaml), as the
 * browser sees them. Restore contents (status, progress, phases, tiers, policies) are common's types.
 */
import type {
  ArchiveTier,
  ConflictPolicy,
  RestorePhase,
  RestoreStatus,
  ThawEstimate,
} from '@kube-restore/common';

/** A restore's phase as the backend records it: common's phases, and `Rejected` for a refused approval. */
export type RestoreRecordPhase = RestorePhase | 'Rejected';

/** A configured source (`GET /sources`); never credentials. */
export interface RestoreSourceInfo {
  name: string;
  title: string;
  endpoint?: string;
  region: string;
  bucket: string;
  /** Template with ${namespace}, ${entity}, ${kind}, ${entityNamespace}, ${cluster}. */
  prefix: string;
  /** Glacier thaw tiers users may pick; empty when archived objects must fail the restore. */
  archiveTiers: ArchiveTier[];
}

export interface ApprovalReason {
  rule: string;
  reason: string;
  approvers: string[];
}

export interface RestoreApproval {
  required: boolean;
  reasons: ApprovalReason[];
  decision?: {
    state: 'approved' | 'rejected';
    by: string;
    at: string;
    comment?: string;
  };
}

/** One restore (`GET /restores/:id`): the backend's record, with the live status while the Job exists. */
export interface Restore {
  id: string;
  entityRef: string;
  cluster: string;
  namespace: string;
  name: string;
  pvc: string;
  sourceName: string;
  source: string;
  requester: string;
  phase: RestoreRecordPhase;
  approval?: RestoreApproval;
  plannedBytes?: number;
  bytes?: number;
  durationMs?: number;
  error?: { code?: string; message: string };
  createdAt: string;
  updatedAt: string;
  jobCreatedAt?: string;
  finishedAt?: string;
  deletedAt?: string;
  status?: RestoreStatus;
}

/** The body of `POST /plan` and `POST /restores`. The namespace comes from the entity, never from here. */
export interface RestoreBody {
  entityRef: string;
  name?: string;
  source: {
    name: string;
    path?: string;
    format?: 'objects' | 'tar' | 'auto';
    include?: string[];
    exclude?: string[];
    stripPrefix?: string;
    asOf?: string;
    archiveTier?: ArchiveTier | 'fail';
  };
  target: {
    pvc: string;
    mode?: 'new' | 'existing';
    size?: string;
    storageClassName?: string;
    accessModes?: string[];
    conflict?: ConflictPolicy;
  };
  options?: Record<string, unknown>;
}

export interface RestorePlanSize {
  objects: number;
  bytes: number;
  diskBytes?: number;
  recommendedSize?: string;
  archivedObjects?: number;
  archivedBytes?: number;
  thawCost?: ThawEstimate[];
  estimated?: boolean;
}

export interface RestoreAccessCheck {
  verb: string;
  resource: string;
  group: string;
  subresource?: string;
  namespace: string;
  allowed: boolean;
  reason?: string;
}

/** `POST /plan`: what a restore would do, without doing it. */
export interface RestorePlan {
  name: string;
  entityRef: string;
  cluster: string;
  namespace: string;
  source: string;
  request: Record<string, unknown>;
  size?: RestorePlanSize;
  sizeError?: string;
  pvcSize?: string;
  fits?: boolean;
  approval: { required: boolean; reasons: ApprovalReason[] };
  quota: { ok: boolean; problems: string[] };
  access: { allowed: boolean; checks: RestoreAccessCheck[]; error?: string };
}

/** How `POST /restores` answered: 201 created, 200 the same request again, 202 waiting for approval. */
export interface CreatedRestore {
  restore: Restore;
  outcome: 'created' | 'existing' | 'pendingApproval';
}

export interface ListRestoresQuery {
  entityRef?: string;
  namespace?: string;
  cluster?: string;
  limit?: number;
}

export interface WatchRestoreOptions {
  /** Called with the restore's state: first the current one, then each change. */
  onUpdate: (restore: Restore) => void;
  signal?: AbortSignal;
}
