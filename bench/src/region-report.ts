/**
 * The emulated region's block of RESULTS.md: a summary (per setting and dataset, the job against
 * the best of each peer's sweep) and the full table of every setting. Pure; region.ts does the I/O.
 */
import {
  compare,
  DatasetInfo,
  fmt,
  markdownTable,
  Row,
  RunRecord,
  summarizeRows,
} from './report';
import { best } from './stats';

export interface RegionPanel {
  /** e.g. `80 ms` or `HTTPS, 20 ms` */
  setting: string;
  info: DatasetInfo;
  rows: Row[];
}

/** The peer's name of a row label (`s5cmd --numworkers 64` -> `s5cmd`). */
export const peerOf = (label: string) => label.split(' ')[0];

/** For each peer, its best row of the sweep (highest durable rate). */
export function bestOfEachPeer(rows: readonly Row[]): Map<string, Row> {
  const out = new Map<string, Row>();
  const peers = rows.filter(r => r.kind === 'peer' && r.runs > 0);
  for (const name of new Set(peers.map(r => peerOf(r.label)))) {
    const top = best(
      peers.filter(r => peerOf(r.label) === name),
      r => r.rate,
    );
    if (top) out.set(name, top);
  }
  return out;
}

/** One line per setting and dataset: the job, each peer's best, and the job's ratio to the best. */
export function regionSummary(
  panels: readonly RegionPanel[],
  peerNames: readonly string[],
): string {
  const head = `| setting | dataset | unit | job | ${peerNames.map(p => `best ${p}`).join(' | ')} | **job / best peer** |`;
  const sep = `|---|---|---|---:|${peerNames.map(() => '---:|').join('')}---:|`;
  const lines = panels.map(p => {
    const c = compare(p.info, p.rows);
    const bests = bestOfEachPeer(p.rows);
    const cells = peerNames.map(n => {
      const r = bests.get(n);
      if (!r) return 'n/a';
      const setting = r.label.slice(n.length).trim();
      return `${fmt(r.rate)}${setting ? ` (${setting})` : ''}`;
    });
    return `| ${p.setting} | ${p.info.id} | ${p.info.unit} | ${fmt(c.job?.rate)} | ${cells.join(' | ')} | **${fmt(c.toBestPeer, 2)}** (${c.bestPeer?.label ?? 'n/a'}) |`;
  });
  return [head, sep, ...lines].join('\n');
}

export function regionPanels(
  settings: ReadonlyArray<{ setting: string; infos: DatasetInfo[] }>,
  records: readonly RunRecord[],
  commands: Record<string, Record<string, string>>,
): RegionPanel[] {
  return settings.flatMap(s =>
    s.infos.map(info => ({
      setting: s.setting,
      info,
      rows: summarizeRows(info, records, commands[info.id]),
    })),
  );
}

/** The full table of one setting and dataset, with the command lines. */
export function regionSection(p: RegionPanel): string {
  const c = compare(p.info, p.rows);
  return [
    `### ${p.setting}: ${p.info.title}`,
    '',
    markdownTable(p.info, p.rows),
    '',
    `- job / best peer (durable): **${fmt(c.toBestPeer, 2)}** (${c.bestPeer?.label ?? 'n/a'}); at exit: ${fmt(c.toBestPeerWall, 2)}`,
    '',
    'Command lines:',
    '',
    ...p.rows.map(r => `- ${r.label}: \`${r.command ?? ''}\``),
    '',
  ].join('\n');
}
