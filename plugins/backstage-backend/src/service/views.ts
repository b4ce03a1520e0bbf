/**
 * What a record looks like from outside: the API's view (with the cluster's live status merged in, without
 * writing anything), the record fields a status stands for, and the audit metadata of a record.
 */
import type { RestoreView } from '@kube-restore/backstage-plugin-restore-common';
import { RestoreStatus, isTerminalPhase } from '@kube-restore/common';
import { RestoreRecord } from './RestoreStore';

/** Whether the record's restore may still change in the cluster: a Job exists and has not ended. */
export function isLive(record: RestoreRecord): boolean {
  return (
    !!record.jobCreatedAt &&
    !record.deletedAt &&
    record.phase !== 'Rejected' &&
    !isTerminalPhase(record.phase as never)
  );
}

/** The record fields a status from the cluster stands for (the phase; at the end, bytes, duration, error). */
export function recordFieldsOf(status: RestoreStatus): Partial<RestoreRecord> {
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
  return fields;
}

/**
 * The API's view of a record. With a live status, what the cluster says wins over the record (which the
 * recorder brings up to date on its own): reads stay free of side effects and still show the truth.
 */
export function toView(
  stored: RestoreRecord,
  status?: RestoreStatus,
): RestoreView {
  const record =
    status && isLive(stored)
      ? { ...stored, ...recordFieldsOf(status) }
      : stored;
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

/** Audit metadata of a record, with who acted. */
export function auditMetaOf(record: RestoreRecord, actor: string) {
  return {
    id: record.id,
    actor,
    entityRef: record.entityRef,
    cluster: record.cluster,
    namespace: record.namespace,
    restore: record.name,
    pvc: record.pvc,
    sourceName: record.sourceName,
    source: record.source,
  };
}

/** The entity page's Restore tab, opened on this restore (links in notifications). */
export function linkOf(record: RestoreRecord): string {
  const [kind, rest] = record.entityRef.split(':');
  const [namespace, name] = rest.split('/');
  return `/catalog/${namespace}/${kind}/${name}/restore?restore=${encodeURIComponent(record.id)}`;
}
