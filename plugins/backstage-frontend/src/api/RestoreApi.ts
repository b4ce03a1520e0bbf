import { createApiRef } from '@backstage/core-plugin-api';
import type {
  CreatedRestore,
  ListRestoresQuery,
  Restore,
  RestoreBody,
  RestorePlan,
  RestoreSourceInfo,
  WatchRestoreOptions,
} from './types';

/** The restore backend, as the UI uses it. Every method throws the backend's error (a ResponseError). */
export interface RestoreApi {
  listSources(): Promise<RestoreSourceInfo[]>;
  listRestores(query?: ListRestoresQuery): Promise<Restore[]>;
  getRestore(id: string): Promise<Restore>;
  planRestore(body: RestoreBody): Promise<RestorePlan>;
  createRestore(body: RestoreBody): Promise<CreatedRestore>;
  deleteRestore(
    id: string,
    options?: { deletePvc?: boolean },
  ): Promise<Restore>;
  approveRestore(id: string, comment?: string): Promise<Restore>;
  rejectRestore(id: string, comment?: string): Promise<Restore>;
  getLogs(
    id: string,
    tailLines?: number,
  ): Promise<{ pod: string; log: string }>;
  /**
   * Follows one restore over the backend's event stream until it reaches a final phase (resolves) or the
   * stream fails (rejects; callers fall back to polling). Aborting the signal resolves.
   */
  watchRestore(id: string, options: WatchRestoreOptions): Promise<void>;
}

export const restoreApiRef = createApiRef<RestoreApi>({
  id: 'plugin.restore.service',
});
