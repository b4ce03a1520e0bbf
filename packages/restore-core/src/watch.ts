/**
 * Watching that survives: resumes from the last resourceVersion after a disconnect, re-lists on
 * 410 Gone, backs off while the API server is away. `watchRestore` turns Job and pod events (and a
 * timer, since progress lives in the pod log) into a stream of status updates.
 */
import { Watch } from '@kubernetes/client-node';
import {
  RESTORE_PHASES,
  RestoreStatus,
  canonicalJson,
  isTerminalPhase,
} from '@kube-restore/common';
import { KubeClients } from './clients';
import { RestoreError } from './errors';
import { restoreSelector } from './manifests';
import { getRestore } from './readRestores';
import { sleep } from './sleep';

export type WatchEventType =
  'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'RELISTED';

export interface ResumableWatchOptions {
  /** API path, e.g. `/apis/batch/v1/namespaces/team-a/jobs`. */
  path: string;
  query?: Record<string, string>;
  /** Lists the collection and returns its resourceVersion (called at the start and after 410 Gone). */
  list: () => Promise<string>;
  onEvent: (type: WatchEventType, object: unknown) => void;
  signal: AbortSignal;
  /** Longest wait between reconnects. */
  maxBackoffMs?: number;
}

/** Wakes a waiting loop early; a poke while nobody waits is remembered for the next wait. */
class Waker {
  private pending?: () => void;
  private poked = false;

  poke = () => {
    this.poked = true;
    this.pending?.();
  };

  /** Waits `ms`, or less if poked (or already poked since the last wait), or until `signal` aborts. */
  async wait(ms: number, signal: AbortSignal): Promise<void> {
    if (!this.poked && !signal.aborted) {
      await new Promise<void>(resolve => {
        let timer: ReturnType<typeof setTimeout> | undefined = undefined;
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.pending = undefined;
          resolve();
        };
        timer = setTimeout(done, ms);
        this.pending = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
    this.poked = false;
  }
}

interface WatchOnceResult {
  error: unknown;
  gone: boolean;
  sawEvent: boolean;
  resourceVersion: string;
}

/** One watch connection from `resourceVersion` until the server or the network ends it. */
function watchOnce(
  watch: Watch,
  options: ResumableWatchOptions,
  resourceVersion: string,
): Promise<WatchOnceResult> {
  const { signal, onEvent } = options;
  const result: WatchOnceResult = {
    error: undefined,
    gone: false,
    sawEvent: false,
    resourceVersion,
  };
  return new Promise(resolve => {
    let controller: AbortController | undefined;
    const onAbort = () => controller?.abort();
    const finish = (error: unknown) => {
      signal.removeEventListener('abort', onAbort);
      result.error = error;
      resolve(result);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    watch
      .watch(
        options.path,
        { ...options.query, resourceVersion, allowWatchBookmarks: true },
        (
          type: string,
          object: { code?: number; metadata?: { resourceVersion?: string } },
        ) => {
          if (type === 'ERROR') {
            if (object?.code === 410) result.gone = true;
            return;
          }
          result.sawEvent = true;
          const rv = object?.metadata?.resourceVersion;
          if (rv) result.resourceVersion = rv;
          onEvent(type as WatchEventType, object);
        },
        finish,
      )
      .then(c => {
        controller = c;
        if (signal.aborted) c.abort();
      })
      .catch(error => finish(error ?? new Error('watch failed')));
  });
}

function isGone(error: unknown): boolean {
  const e = error as {
    code?: unknown;
    statusCode?: unknown;
    message?: unknown;
  };
  return (
    e?.code === 410 ||
    e?.statusCode === 410 ||
    (typeof e?.message === 'string' &&
      /\b410\b|too old resource version|Expired/i.test(e.message))
  );
}

/** Runs until `signal` aborts. Never throws: a broken stream is resumed, a 410 re-lists. */
export async function watchResumable(
  kc: KubeClients['kc'],
  options: ResumableWatchOptions,
): Promise<void> {
  const { signal, onEvent } = options;
  const maxBackoff = options.maxBackoffMs ?? 5000;
  let resourceVersion: string | undefined;
  let backoff = 200;
  const watch = new Watch(kc);
  while (!signal.aborted) {
    if (resourceVersion === undefined) {
      try {
        resourceVersion = await options.list();
        onEvent('RELISTED', undefined);
        backoff = 200;
      } catch {
        await sleep(backoff, signal);
        backoff = Math.min(maxBackoff, backoff * 2);
        continue;
      }
    }
    const {
      error: ended,
      gone,
      sawEvent,
      resourceVersion: lastSeen,
    } = await watchOnce(watch, options, resourceVersion);
    resourceVersion = lastSeen;
    if (signal.aborted) return;
    if (gone || isGone(ended)) {
      resourceVersion = undefined;
      continue;
    }
    if (ended || !sawEvent) {
      await sleep(backoff, signal);
      backoff = Math.min(maxBackoff, backoff * 2);
    } else {
      backoff = 200;
    }
  }
}

/**
 * A running pod's phase comes from its newest progress line, read from its log; when that read fails
 * for a moment (a kube-apiserver restart, a kubelet that is away) the status falls back to Planning.
 * In a stream of updates that would be a step backwards: while the same pods run, keep the furthest
 * phase (and the last progress) seen. A new attempt (other pods) or a terminal phase passes as is.
 */
export function holdPhase(
  previous: RestoreStatus | undefined,
  next: RestoreStatus,
): RestoreStatus {
  if (!previous || isTerminalPhase(next.phase)) return next;
  if (previous.pods.join('\n') !== next.pods.join('\n')) return next;
  const rank = (s: RestoreStatus) => RESTORE_PHASES.indexOf(s.phase);
  if (rank(next) >= rank(previous)) return next;
  return {
    ...next,
    phase: previous.phase,
    progress: next.progress ?? previous.progress,
  };
}

export interface WatchRestoreOptions {
  signal?: AbortSignal;
  /** How often to re-read progress from the pod log while running. Default 1000 ms. */
  pollIntervalMs?: number;
}

/**
 * Status updates of one restore until it reaches a terminal phase (the last one yielded) or `signal`
 * aborts. Yields the current status first, then every change. Survives API server restarts.
 * Throws RestoreError NotFound when the restore is deleted while watched.
 */
export async function* watchRestore(
  clients: KubeClients,
  namespace: string,
  name: string,
  options: WatchRestoreOptions = {},
): AsyncGenerator<RestoreStatus> {
  const outer = options.signal;
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort();
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = controller.signal;
  const pollMs = options.pollIntervalMs ?? 1000;

  const waker = new Waker();
  const poke = waker.poke;
  const ns = encodeURIComponent(namespace);
  const watches = [
    watchResumable(clients.kc, {
      path: `/apis/batch/v1/namespaces/${ns}/jobs`,
      query: { fieldSelector: `metadata.name=${name}` },
      list: async () =>
        (
          await clients.batch.listNamespacedJob({
            namespace,
            fieldSelector: `metadata.name=${name}`,
          })
        ).metadata?.resourceVersion ?? '',
      onEvent: poke,
      signal,
    }),
    watchResumable(clients.kc, {
      path: `/api/v1/namespaces/${ns}/pods`,
      query: { labelSelector: restoreSelector(name) },
      list: async () =>
        (
          await clients.core.listNamespacedPod({
            namespace,
            labelSelector: restoreSelector(name),
          })
        ).metadata?.resourceVersion ?? '',
      onEvent: poke,
      signal,
    }),
  ];

  let last: string | undefined;
  let previous: RestoreStatus | undefined;
  let backoff = 250;
  try {
    while (!signal.aborted) {
      let status: RestoreStatus;
      try {
        status = holdPhase(
          previous,
          await getRestore(clients, namespace, name),
        );
        previous = status;
        backoff = 250;
      } catch (error) {
        if (
          error instanceof RestoreError &&
          (error.kind === 'Unavailable' || error.kind === 'Failed')
        ) {
          // The API server is restarting or away: keep watching.
          await sleep(backoff, signal);
          backoff = Math.min(5000, backoff * 2);
          continue;
        }
        throw error;
      }
      const { durationSeconds: _d, ...comparable } = status;
      const key = canonicalJson(comparable);
      if (key !== last) {
        last = key;
        yield status;
      }
      if (isTerminalPhase(status.phase)) return;
      await waker.wait(pollMs, signal);
    }
  } finally {
    controller.abort();
    outer?.removeEventListener('abort', onOuterAbort);
    await Promise.allSettled(watches);
  }
}
