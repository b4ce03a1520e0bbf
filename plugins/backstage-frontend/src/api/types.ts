/**
 * The browser's names for the restore backend's HTTP API. The shared shapes are
 * @kube-restore/backstage-plugin-restore-common's; what only the client needs is here.
 */
import type {
  ApprovalState,
  PlanResult,
  RecordPhase,
  RestoreView,
} from '@kube-restore/backstage-plugin-restore-common';
import type { ArchiveTier, ConflictPolicy } from '@kube-restore/common';

/** A restore's phase as the backend records it: common's phases, and `Rejected` for a refused approval. */
export type RestoreRecordPhase = RecordPhase;
export type RestoreApproval = ApprovalState;
/** One restore (`GET /restores/:id`): the backend's record, with the live status while the Job exists. */
export type Restore = RestoreView;
/** `POST /plan`: what a restore would do, without doing it. */
export type RestorePlan = PlanResult;

/** A configured source (`GET /sources`); never credentials. */
export interface RestoreSourceInfo {
  name: string;
  title: string;
  /** Where the source is: only for users its config lists in `visibleTo`. */
  endpoint?: string;
  region: string;
  bucket?: string;
  /** Set when the backend left the endpoint and bucket out for this user. */
  locationHidden?: boolean;
  /** Template with ${namespace}, ${entity}, ${kind}, ${entityNamespace}, ${cluster}. */
  prefix: string;
  /** Glacier thaw tiers users may pick; empty when archived objects must fail the restore. */
  archiveTiers: ArchiveTier[];
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
