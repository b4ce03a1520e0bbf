/**
 * @kube-restore/backstage-plugin-restore-backend: self-service restores of PVCs from S3, with permissions,
 * approvals, audit and history.
 */
export { restorePlugin as default } from './plugin';
export * from './permissions';
export type { RestoreView, PlanResult } from './service/RestoreService';
export type { RecordPhase, ApprovalState } from './service/RestoreStore';
