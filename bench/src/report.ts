/**
 * From raw runs to figures: medians per tool and dataset, ratios to the best peer and to the
 * limits, RESULTS.md and an SVG chart. Pure functions (no I/O) so they can be unit-tested.
 */
import { best, median, minMax, ratio } from './stats';

/** `variant`: the job with a non-default option, for information (never the headline). */
export type RowKind = 'job' | 'peer' | 'limit' | 'variant';

export interface RunRecord {
  dataset: string;
  label: string;
  kind: RowKind;
  rep: number;
  wallS: number;
  /** Wall time plus a syncfs of the target: when the data is durable (= wallS for reads to /dev/null). */
  durableS: number;
  userS: number;
  sysS: number;
  maxRssKiB: number;
  ok: boolean;
  error?: string;
}

export interface DatasetInfo {
  id: string;
  title: string;
  bytes: number;
  objects: number;
  /** Headline unit: MB/s for big data, objects/s for many small objects. */
  unit: 'MB/s' | 'obj/s';
  /** Label of the row the job is compared with besides the best peer (e.g. `curl | tar xz`). */
  reference?: string;
  /** Labels of the limit rows, e.g. read limit and disk limit. */
  limits?: string[];
}

export interface Row {
  label: string;
  kind: RowKind;
  runs: number;
  failed: number;
  wallS: number;
  durableS: number;
  wallRange: [number, number];
  /** Throughput in the dataset's unit, from the durable time (and from the wall time). */
  rate: number;
  rateWall: number;
  mbps: number;
  objps: number;
  peakRssMiB: number;
  cpuSPerGiB: number;
  command?: string;
}

export function summarizeRows(
  info: DatasetInfo,
  records: readonly RunRecord[],
  commands: Record<string, string> = {},
): Row[] {
  const labels = [
    ...new Set(records.filter(r => r.dataset === info.id).map(r => r.label)),
  ];
  const rows: Row[] = [];
  for (const label of labels) {
    const all = records.filter(r => r.dataset === info.id && r.label === label);
    const ok = all.filter(r => r.ok);
    if (ok.length === 0) {
      rows.push({
        label,
        kind: all[0].kind,
        runs: 0,
        failed: all.length,
        wallS: NaN,
        durableS: NaN,
        wallRange: [NaN, NaN],
        rate: NaN,
        rateWall: NaN,
        mbps: NaN,
        objps: NaN,
        peakRssMiB: NaN,
        cpuSPerGiB: NaN,
        command: commands[label],
      });
      continue;
    }
    const wallS = median(ok.map(r => r.wallS));
    const durableS = median(ok.map(r => r.durableS));
    const mbps = info.bytes / 1e6 / durableS;
    const objps = info.objects / durableS;
    rows.push({
      label,
      kind: ok[0].kind,
      runs: ok.length,
      failed: all.length - ok.length,
      wallS,
      durableS,
      wallRange: minMax(ok.map(r => r.durableS)),
      rate: info.unit === 'MB/s' ? mbps : objps,
      rateWall:
        info.unit === 'MB/s' ? info.bytes / 1e6 / wallS : info.objects / wallS,
      mbps,
      objps,
      peakRssMiB: Math.max(...ok.map(r => r.maxRssKiB)) / 1024,
      cpuSPerGiB:
        median(ok.map(r => r.userS + r.sysS)) / (info.bytes / 2 ** 30),
      command: commands[label],
    });
  }
  return rows;
}

export interface Comparison {
  job?: Row;
  bestPeer?: Row;
  bestPeerWall?: Row;
  /** job rate / best peer rate (durable), and the same on wall times. */
  toBestPeer?: number;
  toBestPeerWall?: number;
  toReference?: number;
  toLimits: Array<{ label: string; ratio?: number }>;
}

export function compare(info: DatasetInfo, rows: readonly Row[]): Comparison {
  const job = rows.find(r => r.kind === 'job' && r.runs > 0);
  const peers = rows.filter(r => r.kind === 'peer' && r.runs > 0);
  const bestPeer = best(peers, r => r.rate);
  const bestPeerWall = best(peers, r => r.rateWall);
  const reference = info.reference
    ? rows.find(r => r.label === info.reference && r.runs > 0)
    : undefined;
  return {
    job,
    bestPeer,
    bestPeerWall,
    toBestPeer: job && bestPeer ? ratio(job.rate, bestPeer.rate) : undefined,
    toBestPeerWall:
      job && bestPeerWall
        ? ratio(job.rateWall, bestPeerWall.rateWall)
        : undefined,
    toReference: job && reference ? ratio(job.rate, reference.rate) : undefined,
    toLimits: (info.limits ?? []).map(label => {
      const limit = rows.find(r => r.label === label && r.runs > 0);
      return {
        label,
        ratio: job && limit ? ratio(job.rate, limit.rate) : undefined,
      };
    }),
  };
}

export const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits);

/** The one line per dataset the issue asks for. */
export function ratioLine(info: DatasetInfo, c: Comparison): string {
  return `${info.id}: ratio to best peer: ${fmt(c.toBestPeer, 2)} (${c.bestPeer?.label ?? 'no peer'})`;
}

/** The issue's targets: at least the best peer, 90% of the reference pipeline, peak RSS under 200 MiB. */
export const TARGETS = { toBestPeer: 1, toReference: 0.9, peakRssMiB: 200 };

/**
 * One line per dataset and target: met, or missed and by how much, so a reader of RESULTS.md sees at
 * once where the job stands (the why is in the profiles below and in bench/README.md).
 */
export function targetLines(info: DatasetInfo, c: Comparison): string[] {
  const verdict = (
    value: number | undefined,
    target: number,
    higher: boolean,
  ) => {
    if (value === undefined || !Number.isFinite(value)) return 'not measured';
    const met = higher ? value >= target : value < target;
    if (met) return 'met';
    const by = higher ? (target - value) / target : (value - target) / target;
    return `missed by ${fmt(by * 100)}%`;
  };
  const lines = [
    `- ${info.id} throughput vs best peer (${c.bestPeer?.label ?? 'none'}): ${fmt(c.toBestPeer, 2)}, target >= ${fmt(TARGETS.toBestPeer, 2)}: ${verdict(c.toBestPeer, TARGETS.toBestPeer, true)}`,
  ];
  if (info.reference)
    lines.push(
      `- ${info.id} throughput vs \`${info.reference}\`: ${fmt(c.toReference, 2)}, target >= ${fmt(TARGETS.toReference, 2)}: ${verdict(c.toReference, TARGETS.toReference, true)}`,
    );
  lines.push(
    `- ${info.id} job peak RSS: ${fmt(c.job?.peakRssMiB)} MiB, target < ${TARGETS.peakRssMiB} MiB: ${verdict(c.job?.peakRssMiB, TARGETS.peakRssMiB, false)}`,
  );
  return lines;
}

export function markdownTable(info: DatasetInfo, rows: readonly Row[]): string {
  const head = `| tool | ${info.unit} (durable) | ${info.unit} (at exit) | median s (min-max) | MB/s | obj/s | peak RSS MiB | CPU s/GiB | runs |`;
  const sep = '|---|---:|---:|---:|---:|---:|---:|---:|---:|';
  const digits = 0;
  // A pipeline's label ("curl | tar xz") would split the row: escape its bars.
  const cell = (label: string) => label.replace(/\|/g, '\\|');
  const lines = rows.map(r =>
    r.runs === 0
      ? `| ${cell(r.label)} | failed | | | | | | | 0/${r.failed} |`
      : `| ${r.kind === 'job' ? `**${cell(r.label)}**` : cell(r.label)} | ${fmt(r.rate, digits)} | ${fmt(r.rateWall, digits)} | ${fmt(r.durableS, 2)} (${fmt(r.wallRange[0], 2)}-${fmt(r.wallRange[1], 2)}) | ${fmt(r.mbps)} | ${fmt(r.objps)} | ${fmt(r.peakRssMiB)} | ${fmt(r.cpuSPerGiB, 1)} | ${r.runs}${r.failed ? ` (+${r.failed} failed)` : ''} |`,
  );
  return [head, sep, ...lines].join('\n');
}

const BAR_COLORS: Record<RowKind, string> = {
  job: '#d9480f',
  peer: '#1c7ed6',
  limit: '#adb5bd',
  variant: '#f59f00',
};

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A horizontal bar chart, one panel per dataset, one bar per tool (throughput in the dataset's
 * unit, durable), the job's bar highlighted. Plain SVG, no dependencies.
 */
export function svgChart(
  panels: Array<{ info: DatasetInfo; rows: Row[] }>,
  title: string,
): string {
  const width = 760;
  const labelW = 230;
  const barMax = width - labelW - 110;
  const barH = 18;
  const gap = 6;
  let y = 40;
  const parts: string[] = [];
  for (const { info, rows } of panels) {
    const shown = rows.filter(r => r.runs > 0);
    if (shown.length === 0) continue;
    const top = Math.max(...shown.map(r => r.rate));
    parts.push(
      `<text x="10" y="${y + 14}" font-weight="bold">${esc(info.title)} (${info.unit}, until durable)</text>`,
    );
    y += 24;
    for (const r of shown) {
      const w = Math.max(1, (r.rate / top) * barMax);
      const color = BAR_COLORS[r.kind];
      parts.push(
        `<text x="${labelW - 8}" y="${y + barH - 5}" text-anchor="end">${esc(r.label)}</text>`,
        `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${color}"/>`,
        `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + barH - 5}">${fmt(r.rate)}</text>`,
      );
      y += barH + gap;
    }
    y += 14;
  }
  const height = y + 20;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
    ...parts,
    `<text x="10" y="${height - 8}" fill="#555">red: kube-restore job; yellow: the job without verification; blue: peers; grey: limits</text>`,
    '</svg>',
    '',
  ].join('\n');
}

export interface HeapAt {
  keys: number;
  liveMiB: number | undefined;
}

/**
 * How a listing's live heap grew from a small key count to a large one, e.g.
 * `core sizeSource 18.7 -> 19.7 MiB (x1.05) from 62657 to 1000000 keys`.
 */
export function heapGrowth(
  label: string,
  small: HeapAt,
  large: HeapAt,
): string {
  const r = ratio(large.liveMiB ?? NaN, small.liveMiB ?? NaN);
  return `${label} ${fmt(small.liveMiB, 1)} -> ${fmt(large.liveMiB, 1)} MiB (x${fmt(r, 2)}) from ${small.keys} to ${large.keys} keys`;
}

/** The label of the --job-baseline row: the bundle's directory (job-at.sh names it after its commit). */
export function baselineLabel(bundle: string): string {
  const dir = bundle.split('/').slice(-2, -1)[0] || bundle;
  return `job at ${dir.replace(/^kube-restore-job-/, '')}`;
}
