/**
 * Following a restore's log (`kubectl restore logs -f`): streams the newest pod's log line by line and
 * moves on to the next pod when the Job retries, until the restore ends or `signal` aborts.
 */
import { Log } from '@kubernetes/client-node';
import { Writable } from 'node:stream';
import { isTerminalPhase } from '@kube-restore/common';
import { KubeClients } from './clients';
import { translateApiError } from './errors';
import { CONTAINER_NAME } from './manifests';
import { getRestore } from './readRestores';
import { sleep } from './sleep';

export interface FollowRestoreLogsOptions {
  /** Lines of the first pod's log to show before following (default: all). */
  tailLines?: number;
  signal?: AbortSignal;
  /** How often to look for a (new) pod while none is streaming. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Called with each pod's name before its first line. */
  onPod?: (pod: string) => void;
}

/** Streams one pod's log until the stream ends (the container exited) or `signal` aborts. */
async function streamPodLog(
  clients: KubeClients,
  namespace: string,
  pod: string,
  onLine: (line: string) => void,
  options: { tailLines?: number; signal?: AbortSignal },
): Promise<void> {
  let rest = '';
  let finish: () => void = () => undefined;
  const ended = new Promise<void>(resolve => {
    finish = resolve;
  });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) onLine(line);
      callback();
    },
    final(callback) {
      if (rest) onLine(rest);
      rest = '';
      callback();
      finish();
    },
  });
  sink.on('close', () => finish());
  sink.on('error', () => finish());
  let controller: AbortController;
  try {
    controller = await new Log(clients.kc).log(
      namespace,
      pod,
      CONTAINER_NAME,
      sink,
      {
        follow: true,
        ...(options.tailLines !== undefined
          ? { tailLines: options.tailLines }
          : {}),
      },
    );
  } catch (error) {
    throw translateApiError(error, {
      verb: 'get',
      resource: 'pods/log',
      namespace,
      name: pod,
    });
  }
  const onAbort = () => {
    controller.abort();
    finish();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // aborted while the stream was being opened (its first lines may already have been handled)
  if (options.signal?.aborted) onAbort();
  try {
    await ended;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Calls `onLine` for every log line of the restore's pods, following them as they are written.
 * Waits for a pod while the restore is Pending; returns when the restore has ended and its last
 * pod's log is drained, or when `signal` aborts. Throws RestoreError NotFound for an unknown restore.
 */
export async function followRestoreLogs(
  clients: KubeClients,
  namespace: string,
  name: string,
  onLine: (line: string) => void,
  options: FollowRestoreLogsOptions = {},
): Promise<void> {
  const { signal } = options;
  const pollMs = options.pollIntervalMs ?? 1000;
  const done = new Set<string>();
  let first = true;
  while (!signal?.aborted) {
    const status = await getRestore(clients, namespace, name, {
      progress: false,
    });
    const pending = status.pods.filter(p => !done.has(p));
    const pod = pending.at(-1);
    if (pod) {
      try {
        options.onPod?.(pod);
        await streamPodLog(clients, namespace, pod, onLine, {
          tailLines: first ? options.tailLines : undefined,
          signal,
        });
        // the newest pod was followed: earlier attempts are history, not to be shown after it
        for (const p of pending) done.add(p);
        first = false;
        continue;
      } catch (error) {
        // 400: the container has not started yet; 404: the pod went away. Look again shortly.
        const kind = (error as { statusCode?: number }).statusCode;
        if (kind !== 400 && kind !== 404) throw error;
      }
    } else if (isTerminalPhase(status.phase)) {
      return;
    }
    await sleep(pollMs, signal);
  }
}
