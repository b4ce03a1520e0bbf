/**
 * The loopback run's RESULTS.md: headline ratios, targets, machine and versions, one section per
 * dataset with its table and command lines, the extra sections ((d), start-up, cluster latency,
 * profiles), failed runs and the tools' environments.
 */
import * as os from 'node:os';
import {
  compare,
  DatasetInfo,
  fmt,
  markdownTable,
  ratioLine,
  Row,
  RunRecord,
  summarizeRows,
  targetLines,
} from './report';
import { peerEnvNote, PEERS } from './tools';

export function datasetSection(
  info: DatasetInfo,
  rows: Row[],
  c: ReturnType<typeof compare>,
): string {
  const lines = [
    `## ${info.title}`,
    '',
    `${fmt(info.bytes / 1e6)} MB, ${info.objects} objects.`,
    '',
    markdownTable(info, rows),
    '',
    `- ratio to best peer (durable): **${fmt(c.toBestPeer, 2)}** (${c.bestPeer?.label ?? 'n/a'}); at exit: ${fmt(c.toBestPeerWall, 2)} (${c.bestPeerWall?.label ?? 'n/a'})`,
    ...(info.reference
      ? [`- ratio to \`${info.reference}\`: **${fmt(c.toReference, 2)}**`]
      : []),
    ...c.toLimits.map(l => `- ratio to ${l.label}: ${fmt(l.ratio, 2)}`),
    ...(c.job
      ? [
          `- job peak RSS ${fmt(c.job.peakRssMiB)} MiB, ${fmt(c.job.cpuSPerGiB, 1)} CPU s/GiB`,
        ]
      : []),
    '',
    'Command lines:',
    '',
    ...rows.map(r => `- ${r.label}: \`${r.command ?? ''}\``),
    '',
  ];
  return lines.join('\n');
}

/** Failed runs, one line each (empty when none failed). */
export function failureLines(records: readonly RunRecord[]): string[] {
  const failures = records.filter(r => !r.ok);
  if (!failures.length) return [];
  return [
    '## Failed runs',
    '',
    ...failures.map(
      f =>
        `- ${f.dataset} ${f.label} rep ${f.rep}: ${(f.error ?? '').replace(/\s+/g, ' ').slice(0, 300)}`,
    ),
    '',
  ];
}

export interface LoopbackReport {
  quick: boolean;
  startedAt: Date;
  loadBefore: number[];
  loadAfter: number[];
  fsType: string;
  cache: string;
  seed: number;
  reps: number;
  concurrency: number;
  versions: Record<string, string>;
  /** Cost of seeding (a)-(c), and the other notes for "Machine and versions". */
  notes: string[];
  chartName: string;
  infos: DatasetInfo[];
  records: RunRecord[];
  commands: Record<string, Record<string, string>>;
  extraSections: string[];
}

export function loopbackPanels(r: LoopbackReport) {
  return r.infos.map(info => ({
    info,
    rows: summarizeRows(info, r.records, r.commands[info.id]),
  }));
}

/** The report's Markdown and its headline lines (printed to stdout). */
export function loopbackMarkdown(r: LoopbackReport): {
  markdown: string;
  headline: string[];
} {
  const headline: string[] = [];
  const targets: string[] = [];
  const sections: string[] = [];
  for (const { info, rows } of loopbackPanels(r)) {
    const c = compare(info, rows);
    headline.push(ratioLine(info, c));
    targets.push(...targetLines(info, c));
    sections.push(datasetSection(info, rows, c));
  }
  const cpu = os.cpus();
  const markdown = [
    `# Benchmark results${r.quick ? ' (quick)' : ''}`,
    '',
    `Written by \`npm run bench${r.quick ? ' -- --quick' : ''}\` (bench/src/main.ts) on ${r.startedAt.toISOString()}; do not edit by hand. The emulated-region and scale tables at the end are written by \`--region\` and \`--scale\` runs (bench/README.md).`,
    '',
    '## Headline',
    '',
    '```',
    ...headline,
    '```',
    '',
    `![throughput](${r.chartName})`,
    '',
    '## Targets',
    '',
    ...targets,
    '',
    'Where a target is missed, the CPU profiles below and "What profiling changed" in bench/README.md say what stands in the way.',
    '',
    '## Machine and versions',
    '',
    `- ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, Linux ${os.release()}; targets on ${r.fsType} (${r.cache})`,
    `- load average before ${r.loadBefore.map(l => l.toFixed(2)).join(' ')}, after ${r.loadAfter.map(l => l.toFixed(2)).join(' ')}: **the machine is shared with other engineers' test runs**; runs are interleaved and medians are used, so ratios are more trustworthy than absolute figures`,
    `- seed ${r.seed}, ${r.reps} repetitions, concurrency budget ${r.concurrency} (job options.concurrency, s5cmd --numworkers, rclone --transfers/--checkers, aws max_concurrent_requests, curl --parallel-max; mc has no such flag: it adapts its workers itself)`,
    ...Object.entries(r.versions).map(([k, v]) => `- ${k}: ${v}`),
    ...r.notes.map(n => `- ${n}`),
    '',
    '## How to read',
    '',
    "- *durable*: wall time of the tool plus a `sync -f` of the target filesystem (the data is on disk); *at exit*: the tool's own wall time. The job fdatasyncs files of 64 MiB and more before renaming them; the peers leave that to the kernel, so the durable figure is the fair one. Reads to /dev/null have no sync.",
    "- peak RSS: GNU time's maximum resident set (for a pipeline, its largest member). CPU s/GiB: user+system CPU of the tool (and its pipeline) per GiB of the dataset (for (c), of the archive).",
    "- every run's output is checked (number of files and bytes written); failed runs are excluded from the medians and counted.",
    "- order: every repetition runs each dataset's tools once, the order rotating within the dataset; each dataset's block starts with an untimed warm-up run of the job, so that no timed run follows the previous dataset's disk work.",
    '- all objects were uploaded as S3 stores them today: single-part PUTs (their ETags are MD5s) with a full-object CRC64NVME checksum. The job verifies each body against the CRC64NVME (it takes an MD5 ETag only where an object has no such checksum); rclone checks the MD5; s5cmd, mc and aws check neither.',
    '',
    ...sections,
    ...r.extraSections,
    ...failureLines(r.records),
    '## Tool environments',
    '',
    ...PEERS.map(p => `- ${p}: ${peerEnvNote(p)}`),
    '- job: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_REGION, KUBE_RESTORE_REQUEST, KUBE_RESTORE_TARGET, TERMINATION_MESSAGE_PATH (as in its pod)',
    '',
  ].join('\n');
  return { markdown, headline };
}
