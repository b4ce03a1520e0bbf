/** `kubectl restore logs NAME [-f] [--raw]`: the job's JSON lines, rendered for people unless --raw. */
import { formatBytes, parseJobOutputLine } from '@kube-restore/common';
import { followRestoreLogs, restoreLogs } from '@kube-restore/core';
import { EXIT, invalid } from '../errors';
import { CommandIo } from '../io';
import { formatDuration } from '../render';
import { SessionFactory, restoreNameArg } from '../session';
import { printable } from '../terminalText';

export interface LogsOptions {
  name?: string;
  follow?: boolean;
  raw?: boolean;
  tail?: string | number;
  /** Aborts `-f` (tests); Ctrl-C otherwise. */
  signal?: AbortSignal;
}

const KNOWN = new Set(['type', 'ts', 'level', 'msg']);

/** One job output line as people read it: `12:00:01 INFO  listing done  objects=3`. */
export function renderLogLine(raw: string): string | undefined {
  if (!raw.trim()) return undefined;
  const parsed = parseJobOutputLine(raw);
  const time = (ts: string) => /T(\d{2}:\d{2}:\d{2})/.exec(ts)?.[1] ?? ts;
  if (parsed.type === 'text') return parsed.text;
  if (parsed.type === 'log') {
    const l = parsed.line;
    const extra = Object.entries(l)
      .filter(([k]) => !KNOWN.has(k))
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `${time(l.ts)} ${l.level.toUpperCase().padEnd(5)} ${l.msg}${extra ? `  ${extra}` : ''}`;
  }
  const p = parsed.line;
  const parts = [
    `${p.objectsDone}${p.objectsTotal !== undefined ? `/${p.objectsTotal}` : ''} objects`,
    `${formatBytes(p.bytesDone)}${p.bytesTotal !== undefined ? `/${formatBytes(p.bytesTotal)}` : ''}`,
  ];
  if (p.objectsSkipped) parts.push(`${p.objectsSkipped} skipped`);
  if (p.bytesPerSecond) parts.push(`${formatBytes(p.bytesPerSecond)}/s`);
  if (p.etaSeconds !== undefined)
    parts.push(`ETA ${formatDuration(p.etaSeconds)}`);
  if (p.thaw)
    parts.push(`thaw ${p.thaw.ready} ready/${p.thaw.waiting} waiting`);
  if (p.shard) parts.push(`shard ${p.shard.index + 1}/${p.shard.count}`);
  return `${time(p.ts)} ${p.phase.padEnd(9)} ${parts.join(', ')}`;
}

export async function logsCommand(
  options: LogsOptions,
  io: CommandIo,
  session: SessionFactory,
): Promise<number> {
  const name = restoreNameArg(options.name);
  let tailLines: number | undefined;
  if (options.tail !== undefined && String(options.tail) !== '-1') {
    if (!/^\d+$/.test(String(options.tail)))
      throw invalid(
        `invalid --tail "${options.tail}": expected a number of lines, or -1 for all`,
      );
    tailLines = Number(options.tail);
  }
  const { clients, namespace } = await session();
  const write = (line: string) => {
    if (options.raw) {
      io.stdout.write(`${line}\n`);
      return;
    }
    const text = renderLogLine(line);
    // object keys and messages in the log are text others control: escaped (--raw keeps them)
    if (text !== undefined) io.stdout.write(`${printable(text)}\n`);
  };
  if (!options.follow) {
    const { log } = await restoreLogs(clients, namespace, name, { tailLines });
    const lines = log.split('\n');
    if (lines.at(-1) === '') lines.pop();
    lines.forEach(write);
    return EXIT.OK;
  }
  const controller = new AbortController();
  const stop = () => controller.abort();
  options.signal?.addEventListener('abort', stop, { once: true });
  process.once('SIGINT', stop);
  try {
    await followRestoreLogs(clients, namespace, name, write, {
      tailLines,
      signal: controller.signal,
    });
  } finally {
    process.removeListener('SIGINT', stop);
  }
  return EXIT.OK;
}
