/**
 * Waiting for a restore (`wait`, `create --wait`): a live progress bar on a terminal, plain periodic
 * lines otherwise. Ctrl-C stops the waiting, never the restore, and says so.
 */
import {
  JOB_PHASES,
  RestorePhase,
  RestoreStatus,
  formatBytes,
} from '@kube-restore/common';
import { KubeClients, watchRestore } from '@kube-restore/core';
import { CliError, EXIT } from './errors';
import { CommandIo, OutputStream } from './io';
import { printable } from './terminalText';
import {
  formatDuration,
  formatProgress,
  formatProgressLine,
  percent,
} from './render';

const ORDER: RestorePhase[] = [
  'Pending',
  'Planning',
  'Thawing',
  'Restoring',
  'Verifying',
  'Succeeded',
];

/** Phases `wait --for` accepts: the ones the job program reports. */
export const WAITABLE_PHASES = JOB_PHASES;

export interface WaitOptions {
  /** Stop waiting at this phase (or any later one). Default Succeeded. */
  until?: RestorePhase;
  /** Seconds; 0 or undefined: no limit. */
  timeoutSeconds?: number;
  /** Plain lines at most this often (non-terminal output). Default 5000 ms. */
  lineIntervalMs?: number;
  pollIntervalMs?: number;
  /** Registers the Ctrl-C handler; returns its remover. Default: process SIGINT. */
  onInterrupt?: (stop: () => void) => () => void;
  /** Aborts the wait like Ctrl-C (tests). */
  signal?: AbortSignal;
  /** Progress is drawn here; default io.stderr. */
  progressStream?: OutputStream;
}

function reached(phase: RestorePhase, until: RestorePhase): boolean {
  if (until === 'Failed' || phase === 'Failed') return phase === until;
  return ORDER.indexOf(phase) >= ORDER.indexOf(until);
}

const sigint = (stop: () => void) => {
  const handler = () => stop();
  process.once('SIGINT', handler);
  return () => process.removeListener('SIGINT', handler);
};

interface ProgressView {
  update(status: RestoreStatus): void;
  stop(): void;
}

function plainView(
  stream: OutputStream,
  intervalMs: number,
  now: () => number,
): ProgressView {
  let lastPhase: string | undefined;
  let lastAt = 0;
  return {
    update(status) {
      const t = now();
      if (status.phase !== lastPhase || t - lastAt >= intervalMs) {
        stream.write(formatProgressLine(status));
        lastPhase = status.phase;
        lastAt = t;
      }
    },
    stop() {},
  };
}

function barView(stream: NodeJS.WriteStream): ProgressView {
  // Loaded only on a terminal.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { SingleBar } =
    require('cli-progress') as typeof import('cli-progress');
  const bar = new SingleBar({
    stream,
    format:
      '{phase} |{bar}| {percentage}% | {bytes} | {objects} objects | {rate} | ETA {remaining}',
    barCompleteChar: '\u2588',
    barIncompleteChar: '\u2591',
    hideCursor: true,
    clearOnComplete: false,
    etaBuffer: 1,
  });
  let started = false;
  const payload = (s: RestoreStatus) => {
    const r = s.result;
    const p = r
      ? {
          bytesDone: r.bytes,
          bytesTotal: r.bytes,
          objectsDone: r.objects,
          objectsTotal: r.objects,
          bytesPerSecond: 0,
          etaSeconds: 0,
        }
      : s.progress;
    return {
      phase: s.phase.padEnd(9),
      bytes: p
        ? `${formatBytes(p.bytesDone)}${p.bytesTotal !== undefined ? `/${formatBytes(p.bytesTotal)}` : ''}`
        : '-',
      objects: p
        ? `${p.objectsDone}${p.objectsTotal !== undefined ? `/${p.objectsTotal}` : ''}`
        : '-',
      rate: p?.bytesPerSecond ? `${formatBytes(p.bytesPerSecond)}/s` : '-',
      remaining:
        p?.etaSeconds !== undefined ? formatDuration(p.etaSeconds) : '-',
    };
  };
  return {
    update(status) {
      const value =
        status.phase === 'Succeeded' ? 100 : (percent(status.progress) ?? 0);
      if (!started) {
        bar.start(100, value, payload(status));
        started = true;
      } else {
        bar.update(value, payload(status));
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** One line saying how it ended, for stdout. */
export function formatOutcome(status: RestoreStatus): string {
  return `${printable(outcomeText(status))}\n`;
}

function outcomeText(status: RestoreStatus): string {
  if (status.phase === 'Succeeded') {
    const r = status.result;
    const what = r
      ? `: ${r.objects} objects${r.objectsSkipped ? ` (${r.objectsSkipped} skipped)` : ''}, ${formatBytes(r.bytes)}`
      : '';
    return `restore/${status.name} Succeeded${what}${status.durationSeconds !== undefined ? ` in ${formatDuration(status.durationSeconds)}` : ''}`;
  }
  if (status.phase !== 'Failed' && status.progress)
    return `restore/${status.name} ${status.phase}: ${formatProgress(status.progress)}`;
  return `restore/${status.name} ${status.phase}`;
}

/**
 * Watches until the restore reaches `until` (or a later phase). Returns the status then. Throws CliError:
 * exit 1 when it failed (with its code and message), 6 on timeout, 130 on Ctrl-C.
 */
export async function waitForRestore(
  clients: KubeClients,
  namespace: string,
  name: string,
  io: CommandIo,
  options: WaitOptions = {},
): Promise<RestoreStatus> {
  const until = options.until ?? 'Succeeded';
  const controller = new AbortController();
  let why: 'interrupt' | 'timeout' | undefined;
  const stop = (reason: 'interrupt' | 'timeout') => {
    why ??= reason;
    controller.abort();
  };
  const removeInterrupt = (options.onInterrupt ?? sigint)(() =>
    stop('interrupt'),
  );
  options.signal?.addEventListener('abort', () => stop('interrupt'), {
    once: true,
  });
  const timer = options.timeoutSeconds
    ? setTimeout(() => stop('timeout'), options.timeoutSeconds * 1000)
    : undefined;
  const stream = options.progressStream ?? io.stderr;
  const tty =
    !!stream.isTTY &&
    typeof (stream as NodeJS.WriteStream).cursorTo === 'function';
  const view = tty
    ? barView(stream as NodeJS.WriteStream)
    : plainView(stream, options.lineIntervalMs ?? 5000, () =>
        (io.now ?? (() => new Date()))().getTime(),
      );

  let last: RestoreStatus | undefined;
  try {
    for await (const status of watchRestore(clients, namespace, name, {
      signal: controller.signal,
      pollIntervalMs: options.pollIntervalMs,
    })) {
      // Between a pod's exit and the Job's condition, a status can read Pending again: never draw backwards.
      const backwards =
        last &&
        ORDER.indexOf(status.phase) >= 0 &&
        ORDER.indexOf(status.phase) < ORDER.indexOf(last.phase);
      if (backwards) continue;
      last = status;
      view.update(status);
      if (
        reached(status.phase, until) ||
        status.phase === 'Failed' ||
        status.phase === 'Succeeded'
      )
        break;
    }
  } finally {
    view.stop();
    removeInterrupt();
    if (timer) clearTimeout(timer);
  }
  const hint = `kubectl restore status ${name} -n ${namespace}`;
  if (why === 'interrupt' && !(last && reached(last.phase, until))) {
    throw new CliError(
      `stopped waiting; restore ${name} goes on in namespace ${namespace} (${last?.phase ?? 'unknown phase'}): see ${hint}`,
      EXIT.INTERRUPTED,
    );
  }
  if (why === 'timeout' && !(last && reached(last.phase, until))) {
    throw new CliError(
      `timed out after ${formatDuration(options.timeoutSeconds)} waiting for restore ${name} to reach ${until} (now ${last?.phase ?? 'unknown'}); it goes on: see ${hint}`,
      EXIT.TIMEOUT,
    );
  }
  if (!last)
    throw new CliError(
      `restore ${name} in namespace ${namespace}: no status`,
      EXIT.FAILED,
    );
  if (last.phase === 'Failed' && until !== 'Failed') {
    const err = last.error;
    throw new CliError(
      `restore ${name} failed: ${err ? `${err.code}: ${err.message}${err.entry ? ` (${err.entry})` : ''}` : 'no reason given'}`,
      EXIT.FAILED,
    );
  }
  if (!reached(last.phase, until)) {
    throw new CliError(
      `restore ${name} ended ${last.phase} and never reached ${until}`,
      EXIT.FAILED,
    );
  }
  return last;
}
