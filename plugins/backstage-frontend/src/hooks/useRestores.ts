/**
 * The restores of an entity (or all the user may read), kept live: each active restore is followed over
 * the backend's event stream; when a stream fails, the list is polled instead until nothing is active.
 */
import { useApi } from '@backstage/core-plugin-api';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Restore, restoreApiRef } from '../api';
import { isActive } from '../components/format';

export interface UseRestoresOptions {
  entityRef?: string;
  /** Poll interval once a stream has failed. Default 5 s. */
  pollIntervalMs?: number;
}

/** How the list is kept current: `stream` (events), `polling` (a stream failed) or `idle` (nothing active). */
export type LiveMode = 'stream' | 'polling' | 'idle';

export interface UseRestoresResult {
  restores: Restore[];
  loading: boolean;
  error?: Error;
  liveMode: LiveMode;
  reload: () => Promise<void>;
  /** Adds or replaces a restore (by id) at once, e.g. an optimistic row. */
  upsert: (restore: Restore, replacesId?: string) => void;
  remove: (id: string) => void;
}

function byNewest(a: Restore, b: Restore): number {
  if (a.createdAt === b.createdAt) return 0;
  return a.createdAt < b.createdAt ? 1 : -1;
}

export function useRestores(
  options: UseRestoresOptions = {},
): UseRestoresResult {
  const { entityRef, pollIntervalMs = 5000 } = options;
  const api = useApi(restoreApiRef);
  const [restores, setRestores] = useState<Restore[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Error>();
  const [streamFailed, setStreamFailed] = useState(false);
  const watchers = useRef(new Map<string, AbortController>());
  /** Rows added locally (optimistic) survive a reload until the backend knows them. */
  const local = useRef(new Map<string, Restore>());

  const upsert = useCallback((restore: Restore, replacesId?: string) => {
    if (replacesId) local.current.delete(replacesId);
    if (restore.id.startsWith('optimistic-'))
      local.current.set(restore.id, restore);
    setRestores(current => {
      const rest = current.filter(
        r => r.id !== restore.id && r.id !== replacesId,
      );
      return [restore, ...rest].sort(byNewest);
    });
  }, []);

  const remove = useCallback((id: string) => {
    local.current.delete(id);
    watchers.current.get(id)?.abort();
    watchers.current.delete(id);
    setRestores(current => current.filter(r => r.id !== id));
  }, []);

  const reload = useCallback(async () => {
    try {
      const items = await api.listRestores(entityRef ? { entityRef } : {});
      setRestores(
        [...local.current.values(), ...items.filter(r => !r.deletedAt)].sort(
          byNewest,
        ),
      );
      setError(undefined);
    } catch (e) {
      setError(e as Error);
    } finally {
      setLoading(false);
    }
  }, [api, entityRef]);

  useEffect(() => {
    setLoading(true);
    reload();
  }, [reload]);

  // One stream per active restore the backend knows (optimistic rows have no stream yet).
  const activeIds = useMemo(
    () =>
      restores
        .filter(r => isActive(r) && !r.id.startsWith('optimistic-'))
        .map(r => r.id)
        .sort()
        .join(' '),
    [restores],
  );

  useEffect(() => {
    if (streamFailed) return;
    const wanted = new Set(activeIds ? activeIds.split(' ') : []);
    for (const [id, controller] of watchers.current) {
      if (!wanted.has(id)) {
        controller.abort();
        watchers.current.delete(id);
      }
    }
    for (const id of wanted) {
      if (watchers.current.has(id)) continue;
      const controller = new AbortController();
      watchers.current.set(id, controller);
      api
        .watchRestore(id, {
          signal: controller.signal,
          onUpdate: restore => {
            if (controller.signal.aborted) return;
            if (restore.deletedAt) {
              setRestores(current => current.filter(r => r.id !== restore.id));
            } else {
              setRestores(current =>
                current.map(r => (r.id === restore.id ? restore : r)),
              );
            }
          },
        })
        .then(async () => {
          if (controller.signal.aborted) return;
          // The stream ended: the restore should be final now. If it is not, keep it current by polling.
          const restore = await api.getRestore(id);
          if (controller.signal.aborted) return;
          setRestores(current =>
            current.map(r => (r.id === restore.id ? restore : r)),
          );
          if (isActive(restore)) setStreamFailed(true);
        })
        .catch(() => {
          if (!controller.signal.aborted) setStreamFailed(true);
        });
    }
  }, [api, activeIds, streamFailed]);

  useEffect(() => {
    const current = watchers.current;
    return () => {
      for (const controller of current.values()) controller.abort();
      current.clear();
    };
  }, []);

  // Fallback: poll while anything is active and a stream has failed.
  useEffect(() => {
    if (!streamFailed || !activeIds) return undefined;
    for (const controller of watchers.current.values()) controller.abort();
    watchers.current.clear();
    const timer = setInterval(() => {
      reload();
    }, pollIntervalMs);
    return () => clearInterval(timer);
  }, [streamFailed, activeIds, pollIntervalMs, reload]);

  let liveMode: LiveMode = 'idle';
  if (activeIds) liveMode = streamFailed ? 'polling' : 'stream';

  return { restores, loading, error, liveMode, reload, upsert, remove };
}
