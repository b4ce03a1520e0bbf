/** Restore history in the Backstage database (Knex). Timestamps are ISO strings, so SQLite and Postgres agree. */
import {
  DatabaseService,
  resolvePackagePath,
} from '@backstage/backend-plugin-api';
import type {
  ApprovalState,
  RecordPhase,
} from '@kube-restore/backstage-plugin-restore-common';
import { ErrorCode, RestoreRequest } from '@kube-restore/common';
import { Knex } from 'knex';

const TABLE = 'restore_requests';
const LOCKS = 'restore_locks';

export interface RestoreRecord {
  id: string;
  entityRef: string;
  ownerRef?: string;
  cluster: string;
  namespace: string;
  name: string;
  pvc: string;
  sourceName: string;
  source: string;
  requester: string;
  phase: RecordPhase;
  request: RestoreRequest;
  plan?: Record<string, unknown>;
  approval?: ApprovalState;
  bytes?: number;
  plannedBytes?: number;
  durationMs?: number;
  errorCode?: ErrorCode | string;
  errorMessage?: string;
  createdAt: string;
  updatedAt: string;
  jobCreatedAt?: string;
  finishedAt?: string;
  deletedAt?: string;
}

type Row = {
  id: string;
  entity_ref: string;
  owner_ref: string | null;
  cluster: string;
  namespace: string;
  name: string;
  pvc: string;
  source_name: string;
  source: string;
  requester: string;
  phase: string;
  request: string;
  plan: string | null;
  approval: string | null;
  bytes: number | string | null;
  planned_bytes: number | string | null;
  duration_ms: number | string | null;
  error_code: string | null;
  error_message: string | null;
  created_at: string;
  updated_at: string;
  job_created_at: string | null;
  finished_at: string | null;
  deleted_at: string | null;
};

const num = (v: number | string | null) =>
  v === null || v === undefined ? undefined : Number(v);
const opt = <T>(v: T | null) => (v === null ? undefined : v);

function fromRow(row: Row): RestoreRecord {
  return {
    id: row.id,
    entityRef: row.entity_ref,
    ownerRef: opt(row.owner_ref),
    cluster: row.cluster,
    namespace: row.namespace,
    name: row.name,
    pvc: row.pvc,
    sourceName: row.source_name,
    source: row.source,
    requester: row.requester,
    phase: row.phase as RecordPhase,
    request: JSON.parse(row.request),
    plan: row.plan ? JSON.parse(row.plan) : undefined,
    approval: row.approval ? JSON.parse(row.approval) : undefined,
    bytes: num(row.bytes),
    plannedBytes: num(row.planned_bytes),
    durationMs: num(row.duration_ms),
    errorCode: opt(row.error_code),
    errorMessage: opt(row.error_message),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    jobCreatedAt: opt(row.job_created_at),
    finishedAt: opt(row.finished_at),
    deletedAt: opt(row.deleted_at),
  };
}

const COLUMNS: Record<keyof RestoreRecord, keyof Row> = {
  id: 'id',
  entityRef: 'entity_ref',
  ownerRef: 'owner_ref',
  cluster: 'cluster',
  namespace: 'namespace',
  name: 'name',
  pvc: 'pvc',
  sourceName: 'source_name',
  source: 'source',
  requester: 'requester',
  phase: 'phase',
  request: 'request',
  plan: 'plan',
  approval: 'approval',
  bytes: 'bytes',
  plannedBytes: 'planned_bytes',
  durationMs: 'duration_ms',
  errorCode: 'error_code',
  errorMessage: 'error_message',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  jobCreatedAt: 'job_created_at',
  finishedAt: 'finished_at',
  deletedAt: 'deleted_at',
};
const JSON_FIELDS = new Set<keyof RestoreRecord>([
  'request',
  'plan',
  'approval',
]);

function toRow(record: Partial<RestoreRecord>): Partial<Row> {
  const row: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record) as [
    keyof RestoreRecord,
    unknown,
  ][]) {
    if (value === undefined) continue;
    row[COLUMNS[key]] = JSON_FIELDS.has(key) ? JSON.stringify(value) : value;
  }
  return row as Partial<Row>;
}

export interface ListFilter {
  entityRef?: string;
  namespace?: string;
  cluster?: string;
  ownerRef?: string;
  requester?: string;
  phases?: RecordPhase[];
  createdSince?: string;
  includeDeleted?: boolean;
  limit?: number;
}

export class RestoreStore {
  static async create(database: DatabaseService): Promise<RestoreStore> {
    const knex = await database.getClient();
    if (!database.migrations?.skip) {
      await knex.migrate.latest({
        directory: resolvePackagePath(
          '@kube-restore/backstage-plugin-restore-backend',
          'migrations',
        ),
      });
    }
    return new RestoreStore(knex);
  }

  constructor(private readonly knex: Knex) {}

  /**
   * Runs `fn` in a transaction that holds the one lock row of `restore_locks`, with a store bound to it: the
   * checks of limits and the insert they guard happen as one step, one create at a time across every
   * backend instance (Postgres and MySQL lock the row until commit; SQLite has one writer anyway).
   */
  async exclusive<T>(fn: (store: RestoreStore) => Promise<T>): Promise<T> {
    return this.knex.transaction(async tx => {
      await tx(LOCKS).where({ scope: 'create' }).increment('generation', 1);
      return fn(new RestoreStore(tx));
    });
  }

  async insert(record: RestoreRecord): Promise<void> {
    await this.knex(TABLE).insert(toRow(record));
  }

  async get(id: string): Promise<RestoreRecord | undefined> {
    const row = await this.knex<Row>(TABLE).where({ id }).first();
    return row ? fromRow(row) : undefined;
  }

  /** Updates the given fields; with `expectPhase`, only when the record is still in that phase. Returns whether it changed. */
  async update(
    id: string,
    fields: Partial<RestoreRecord>,
    expectPhase?: RecordPhase,
  ): Promise<boolean> {
    const query = this.knex(TABLE).where({ id });
    if (expectPhase) query.andWhere({ phase: expectPhase });
    const count = await query.update(
      toRow({ ...fields, updatedAt: new Date().toISOString() }),
    );
    return count > 0;
  }

  async list(filter: ListFilter = {}): Promise<RestoreRecord[]> {
    const query = this.knex<Row>(TABLE)
      .orderBy('created_at', 'desc')
      .orderBy('id');
    if (filter.entityRef) query.where('entity_ref', filter.entityRef);
    if (filter.namespace) query.where('namespace', filter.namespace);
    if (filter.cluster) query.where('cluster', filter.cluster);
    if (filter.ownerRef) query.where('owner_ref', filter.ownerRef);
    if (filter.requester) query.where('requester', filter.requester);
    if (filter.phases) query.whereIn('phase', filter.phases);
    if (filter.createdSince)
      query.where('created_at', '>=', filter.createdSince);
    if (!filter.includeDeleted) query.whereNull('deleted_at');
    query.limit(filter.limit ?? 500);
    return (await query).map(fromRow);
  }
}
