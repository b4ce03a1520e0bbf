/** Pure text rendering of statuses, tables and durations: what users read, tested with golden files. */
import {
  RestoreProgress,
  RestoreStatus,
  formatBytes,
} from '@kube-restore/common';
import type { RestoreRow } from './populated';
import { printable } from './terminalText';

/** kubectl's compact durations: `45s`, `3m12s`, `5h4m`, `2d3h`. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '-';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  if (s < 86400)
    return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600) ? `${Math.floor((s % 86400) / 3600)}h` : ''}`;
}

export function age(iso: string | undefined, now: Date): string {
  if (!iso) return '<unknown>';
  return formatDuration((now.getTime() - new Date(iso).getTime()) / 1000);
}

export function percent(
  progress: RestoreProgress | undefined,
): number | undefined {
  // while the listing goes on the totals are what was listed so far: no percentage yet
  if (!progress || progress.listing) return undefined;
  if (progress.bytesTotal)
    return Math.min(
      100,
      Math.floor((progress.bytesDone / progress.bytesTotal) * 100),
    );
  if (progress.objectsTotal)
    return Math.min(
      100,
      Math.floor((progress.objectsDone / progress.objectsTotal) * 100),
    );
  return undefined;
}

/** `1,204/3,000 objects, 1.20 GiB/3.00 GiB (40%), 55.0 MiB/s, ETA 33s` */
export function formatProgress(progress: RestoreProgress | undefined): string {
  if (!progress) return '-';
  const n = (v: number) => v.toLocaleString('en-US');
  const parts = [
    `${n(progress.objectsDone)}${progress.objectsTotal !== undefined ? `/${n(progress.objectsTotal)}` : ''} objects`,
    `${formatBytes(progress.bytesDone)}${progress.bytesTotal !== undefined ? `/${formatBytes(progress.bytesTotal)}` : ''}${
      percent(progress) !== undefined ? ` (${percent(progress)}%)` : ''
    }`,
  ];
  if (progress.objectsSkipped)
    parts.push(`${n(progress.objectsSkipped)} skipped`);
  if (progress.bytesPerSecond)
    parts.push(`${formatBytes(progress.bytesPerSecond)}/s`);
  if (progress.etaSeconds !== undefined)
    parts.push(`ETA ${formatDuration(progress.etaSeconds)}`);
  if (progress.listing) parts.push('still listing');
  if (progress.thaw)
    parts.push(
      `thawing ${progress.thaw.waiting} waiting, ${progress.thaw.ready} ready`,
    );
  return parts.join(', ');
}

/**
 * Left-aligned columns separated by three spaces, as kubectl prints them. Every cell is made
 * printable: cells hold text other users control.
 */
export function formatTable(header: string[], rawRows: string[][]): string {
  const rows = rawRows.map(r => r.map(c => printable(c ?? '')));
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('   ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** One `Label:  value` line; the value is made printable (it holds text other users control). */
function field(label: string, value: string | undefined, width = 14): string {
  return value === undefined || value === ''
    ? ''
    : `${`${label}:`.padEnd(width)}${printable(value)}\n`;
}

function resultLine(status: RestoreStatus): string | undefined {
  const r = status.result;
  if (!r) return undefined;
  return (
    `${r.objects.toLocaleString('en-US')} objects${r.objectsSkipped ? ` (${r.objectsSkipped} skipped)` : ''}, ` +
    `${formatBytes(r.bytes)} in ${formatDuration(r.durationMs / 1000)}${r.manifest ? `; manifest ${r.manifest}` : ''}`
  );
}

/** The short block `status` prints. */
export function formatStatus(status: RestoreRow, now: Date): string {
  const p = status.populator;
  return [
    field('Name', status.name),
    field('Namespace', status.namespace),
    field('Phase', status.phase),
    field('Source', status.source),
    field(
      'PVC',
      p ? `${p.pvc} (filled through prime PVC ${status.pvc})` : status.pvc,
    ),
    field(
      'Via',
      p
        ? `populator, RestoreSource ${p.restoreSource ?? '<unknown: the PVC is gone>'}`
        : undefined,
    ),
    field(
      'Progress',
      status.progress ? formatProgress(status.progress) : undefined,
    ),
    field('Waiting', status.waitingReason),
    field(
      'Error',
      status.error
        ? `${status.error.code}: ${status.error.message}${status.error.entry ? ` (${status.error.entry})` : ''}`
        : undefined,
    ),
    field('Result', resultLine(status)),
    field('Age', age(status.createdAt, now)),
    field(
      'Duration',
      status.durationSeconds !== undefined
        ? formatDuration(status.durationSeconds)
        : undefined,
    ),
  ].join('');
}

export interface EventRow {
  type?: string;
  reason?: string;
  object?: string;
  message?: string;
  time?: string;
}

/** The long block `describe` prints: everything `status` shows, then pods, times and events. */
export function formatDescribe(
  status: RestoreRow,
  events: EventRow[],
  now: Date,
): string {
  let text = formatStatus(status, now);
  text += [
    field('Created', status.createdAt),
    field('Started', status.startedAt),
    field('Finished', status.finishedAt),
    field('Attempts', `${status.attempts} (${status.failedAttempts} failed)`),
    field('Pods', status.pods.join(', ') || '<none>'),
    field('Requester', status.requester),
    field(
      'Expires',
      status.ttlSecondsAfterFinished !== undefined && status.finishedAt
        ? `${formatDuration(status.ttlSecondsAfterFinished)} after finishing (ttlSecondsAfterFinished)`
        : undefined,
    ),
  ].join('');
  text += 'Events:';
  if (events.length === 0) return `${text}       <none>\n`;
  text += '\n';
  const table = formatTable(
    ['TYPE', 'REASON', 'AGE', 'OBJECT', 'MESSAGE'],
    events.map(e => [
      e.type ?? '',
      e.reason ?? '',
      age(e.time, now),
      e.object ?? '',
      (e.message ?? '').trim(),
    ]),
  );
  return (
    text +
    table
      .split('\n')
      .map(l => (l ? `  ${l}` : l))
      .join('\n')
  );
}

/**
 * The table of `list`; `-A` adds NAMESPACE, `-o wide` adds source, duration, requester and error, and a
 * populator's restore adds VIA.
 */
export function formatRestoreTable(
  statuses: RestoreRow[],
  options: { allNamespaces?: boolean; wide?: boolean; now: Date },
): string {
  // VIA only when a restore is the populator's: the PVC is then the user's, filled through a prime PVC
  const via = statuses.some(s => s.populator);
  const header = [
    'NAME',
    'PHASE',
    'PVC',
    ...(via ? ['VIA'] : []),
    'PROGRESS',
    'AGE',
  ];
  if (options.allNamespaces) header.unshift('NAMESPACE');
  if (options.wide) header.push('DURATION', 'SOURCE', 'REQUESTER', 'ERROR');
  const rows = statuses.map(s => {
    const p = percent(s.progress);
    let progress = '-';
    if (s.phase === 'Succeeded') progress = '100%';
    else if (p !== undefined) progress = `${p}%`;
    else if (s.progress) progress = formatBytes(s.progress.bytesDone);
    const row = [
      s.name,
      s.phase,
      s.populator?.pvc ?? s.pvc,
      ...(via ? [s.populator ? 'populator' : '-'] : []),
      progress,
      age(s.createdAt, options.now),
    ];
    if (options.allNamespaces) row.unshift(s.namespace);
    if (options.wide) {
      row.push(
        s.durationSeconds !== undefined
          ? formatDuration(s.durationSeconds)
          : '-',
        s.source,
        s.requester ?? '-',
        s.error ? s.error.code : '-',
      );
    }
    return row;
  });
  return formatTable(header, rows);
}

/** One plain line for periodic progress output (non-TTY), made printable. */
export function formatProgressLine(status: RestoreStatus): string {
  let what = '';
  if (status.progress) what = `: ${formatProgress(status.progress)}`;
  else if (status.waitingReason) what = `: ${status.waitingReason}`;
  return `${printable(`restore/${status.name} ${status.phase}${what}`)}\n`;
}
