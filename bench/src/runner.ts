/**
 * Running the cases: one run is a fresh target, a sync of what came before, the measured command
 * and a check of what it wrote; the repetitions are interleaved with a warm-up per dataset block.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { measure, run } from './measure';
import type { RunRecord } from './report';
import { groupBy, interleave } from './stats';
import type { ToolCommand } from './tools';

export const log = (m: string) =>
  process.stderr.write(
    `[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`,
  );

export interface Case {
  dataset: string;
  command: ToolCommand;
  kind: RunRecord['kind'];
  /** Where the command writes; undefined for reads to /dev/null. */
  target?: string;
  expect?: { files: number; bytes: number };
}

/** Files and bytes under `dir`, not counting the job's manifest directory. */
export async function treeTotals(
  dir: string,
): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const abs = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== '.kube-restore') await walk(abs);
      } else if (e.isFile()) {
        files++;
        bytes += (await fsp.stat(abs)).size;
      }
    }
  };
  await walk(dir);
  return { files, bytes };
}

/** One run of a case: a fresh target, a sync of what came before, then the measured command. */
export async function runOnce(c: Case, workDir: string) {
  if (c.target) {
    await fsp.rm(c.target, { recursive: true, force: true });
    await fsp.mkdir(c.target, { recursive: true });
  }
  await run('sync', ['-f', workDir]);
  const m = await measure(c.command, path.join(workDir, 'time.out'), c.target);
  let ok = m.exitCode === 0;
  let error = ok ? undefined : `exit ${m.exitCode}: ${m.stderr.slice(-500)}`;
  if (ok && c.target && c.expect) {
    const t = await treeTotals(c.target);
    if (t.files !== c.expect.files || t.bytes !== c.expect.bytes) {
      ok = false;
      error = `wrote ${t.files} files / ${t.bytes} bytes, expected ${c.expect.files} / ${c.expect.bytes}`;
    }
  }
  if (c.target) await fsp.rm(c.target, { recursive: true, force: true });
  return { m, ok, error };
}

/**
 * Every case `reps` times, interleaved (see `interleave`). Each switch to a dataset (the first
 * block, and every block of a repetition when more than one dataset runs) starts with an untimed
 * warm-up run: the job's case, or the block's first case when the job is filtered out. The first
 * run after a switch pays for the previous dataset's disk work (bench/README.md, "Order of the runs").
 */
export async function runCases(
  cases: Case[],
  reps: number,
  workDir: string,
  records: RunRecord[],
): Promise<void> {
  const order = interleave(
    groupBy(cases, c => c.dataset),
    reps,
  );
  const repOf = new Map<Case, number>();
  let block: string | undefined;
  for (const c of order) {
    const rep = (repOf.get(c) ?? 0) + 1;
    repOf.set(c, rep);
    if (c.dataset !== block) {
      block = c.dataset;
      const warm =
        cases.find(x => x.dataset === c.dataset && x.kind === 'job') ?? c;
      const w = await runOnce(warm, workDir);
      log(
        `${c.dataset} rep ${rep} warm-up: ${warm.command.label} ${w.ok ? `${w.m.wallS.toFixed(2)} s (not counted)` : `FAILED ${w.error}`}`,
      );
    }
    const { m, ok, error } = await runOnce(c, workDir);
    records.push({
      dataset: c.dataset,
      label: c.command.label,
      kind: c.kind,
      rep,
      wallS: m.wallS,
      durableS: c.target ? m.durableS : m.wallS,
      userS: m.userS,
      sysS: m.sysS,
      maxRssKiB: m.maxRssKiB,
      ok,
      error,
    });
    log(
      `${c.dataset} rep ${rep} ${c.command.label.padEnd(34)} ${ok ? `${m.wallS.toFixed(2)} s (durable ${m.durableS.toFixed(2)} s) ${(m.maxRssKiB / 1024).toFixed(0)} MiB` : `FAILED ${error}`}`,
    );
  }
}

/** Keeps the cases whose label starts with, or whose tool is, one of `wanted` (all when undefined). */
export function filterTools(cases: Case[], wanted: string[] | undefined) {
  if (!wanted) return cases;
  return cases.filter(c =>
    wanted.some(w => c.command.label.startsWith(w) || c.command.tool === w),
  );
}

export interface SelectOptions {
  /** --tools: labels or tool names to keep; undefined keeps every case. */
  tools?: string[];
  /** --job-env: added to the environment of the job's cases. */
  jobEnv: Record<string, string>;
  /** Filled in: each kept case's shown command, by dataset and label (for the report). */
  commands: Record<string, Record<string, string>>;
}

/** The cases a run takes (filterTools), with `jobEnv` in the job's and their commands recorded. */
export function selectCases(cases: Case[], options: SelectOptions): Case[] {
  const selected = filterTools(cases, options.tools);
  for (const c of selected) {
    if (c.command.tool === 'job') Object.assign(c.command.env, options.jobEnv);
    options.commands[c.dataset] ??= {};
    options.commands[c.dataset][c.command.label] = c.command.display;
  }
  return selected;
}

/**
 * The run of a set of cases, as the loopback and region runs make it: selectCases, a log line saying
 * how many (`announce`), then every case `reps` times, interleaved (runCases), into `records`.
 */
export async function runSelected(
  cases: Case[],
  options: SelectOptions & {
    reps: number;
    workDir: string;
    records: RunRecord[];
    announce: (count: number) => string;
  },
): Promise<void> {
  const selected = selectCases(cases, options);
  log(options.announce(selected.length));
  await runCases(selected, options.reps, options.workDir, options.records);
}
