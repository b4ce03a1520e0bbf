/**
 * The loopback run's cases, in table order: for each of datasets (a)-(c), the job (and for (a) the
 * job without verification), every peer, and the limits measured in the same run (curl reading
 * everything to /dev/null, dd, GNU tar from a local file).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { DatasetSizes, largeObjects, smallObjects, tarTree } from './datasets';
import { baselineLabel, DatasetInfo, fmt } from './report';
import type { Case } from './runner';
import { curlToNull, streamToTar } from './pipes';
import {
  Context,
  displayCommand,
  jobCommand,
  peerCopy,
  PEERS,
  ToolCommand,
} from './tools';

/**
 * The job's case, and with a `baseline` bundle (--job-baseline) the same restore by that bundle as
 * a `variant` row beside it, in the same interleaved runs.
 */
function jobCases(
  ctx: Context,
  baseline: string | undefined,
  dataset: string,
  source: Parameters<typeof jobCommand>[1],
  t: string,
  expect: Case['expect'],
): Case[] {
  const cases: Case[] = [
    {
      dataset,
      kind: 'job',
      command: jobCommand(ctx, source, t),
      target: t,
      expect,
    },
  ];
  if (baseline) {
    const other = jobCommand(
      { ...ctx, bins: { ...ctx.bins, jobBundle: baseline } },
      source,
      t,
    );
    cases.push({
      dataset,
      kind: 'variant',
      command: { ...other, label: baselineLabel(baseline) },
      target: t,
      expect,
    });
  }
  return cases;
}

/**
 * The cases every object dataset has, in table order: the job (and, with `variant`, the job
 * without verification), each peer copying the prefix, and curl reading every object to /dev/null.
 */
async function objectCases(
  ctx: Context,
  baseline: string | undefined,
  dataset: string,
  prefix: string,
  objects: readonly { name: string }[],
  t: string,
  expect: Case['expect'],
  variant: boolean,
): Promise<Case[]> {
  const cases: Case[] = jobCases(
    ctx,
    baseline,
    dataset,
    { prefix: `${prefix}/` },
    t,
    expect,
  );
  const job = (verify = true) =>
    jobCommand(ctx, { prefix: `${prefix}/` }, t, [], verify);
  if (variant)
    cases.push({
      dataset,
      kind: 'variant',
      command: job(false),
      target: t,
      expect,
    });
  for (const p of PEERS)
    cases.push({
      dataset,
      kind: 'peer',
      command: peerCopy(ctx, p, `${prefix}/`, t),
      target: t,
      expect,
    });
  const urls = path.join(ctx.confDir, `urls-${prefix}.conf`);
  const c = curlToNull(
    ctx,
    objects.map(o => `${prefix}/${o.name}`),
    urls,
  );
  await fsp.writeFile(urls, c.config);
  cases.push({ dataset, kind: 'limit', command: c.command });
  return cases;
}

/** A local command as a limit row (dd, tar), writing to `t`. */
function limitCase(
  ctx: Context,
  dataset: string,
  label: string,
  argv: string[],
  t: string,
  expect: Case['expect'],
): Case {
  const command: ToolCommand = {
    label,
    tool: 'limit',
    argv,
    env: { PATH: process.env.PATH ?? '' },
    display: displayCommand(argv, [...ctx.replacements, [t, 'TARGET']]),
  };
  return { dataset, kind: 'limit', target: t, expect, command };
}

export async function loopbackCases(opts: {
  ctx: Context;
  only: Set<string>;
  seed: number;
  sizes: DatasetSizes;
  dataRoot: string;
  target: (name: string) => string;
  /** --job-baseline: a second job bundle, as a row of its own beside the job's. */
  baseline?: string;
}): Promise<{ cases: Case[]; infos: DatasetInfo[] }> {
  const { ctx, only, seed, sizes, dataRoot, target, baseline } = opts;
  const cases: Case[] = [];
  const infos: DatasetInfo[] = [];
  if (only.has('a')) {
    const large = largeObjects(sizes);
    const bytes = large.reduce((s, o) => s + o.size, 0);
    const info: DatasetInfo = {
      id: '(a)',
      title: `(a) ${large.length} objects of ${sizes.largeSize / 2 ** 20} MiB`,
      bytes,
      objects: large.length,
      unit: 'MB/s',
      limits: ['curl -Z > /dev/null (read limit)', 'dd to disk (disk limit)'],
    };
    infos.push(info);
    const expect = { files: large.length, bytes };
    const t = target('a');
    cases.push(
      ...(await objectCases(
        ctx,
        baseline,
        info.id,
        'a',
        large,
        t,
        expect,
        true,
      )),
    );
    const ddArgv = [
      'dd',
      'if=/dev/zero',
      `of=${t}/dd.bin`,
      'bs=4M',
      `count=${bytes / (4 << 20)}`,
      'status=none',
    ];
    // dd writes one file of the same bytes
    cases.push(
      limitCase(ctx, info.id, 'dd to disk (disk limit)', ddArgv, t, {
        files: 1,
        bytes,
      }),
    );
  }
  if (only.has('b')) {
    const small = smallObjects(seed, sizes);
    const bytes = small.reduce((s, o) => s + o.size, 0);
    const info: DatasetInfo = {
      id: '(b)',
      title: `(b) ${small.length} objects of ${sizes.smallSize / 1024} KiB, nested prefixes`,
      bytes,
      objects: small.length,
      unit: 'obj/s',
      limits: [
        'curl -Z > /dev/null (read limit)',
        'tar x of a local tar (disk limit)',
      ],
    };
    infos.push(info);
    const expect = { files: small.length, bytes };
    const t = target('b');
    cases.push(
      ...(await objectCases(
        ctx,
        baseline,
        info.id,
        'b',
        small,
        t,
        expect,
        false,
      )),
    );
    const tarArgv = [
      ctx.bins.tar,
      'xf',
      path.join(dataRoot, 'small.tar'),
      '-C',
      t,
    ];
    cases.push(
      limitCase(
        ctx,
        info.id,
        'tar x of a local tar (disk limit)',
        tarArgv,
        t,
        expect,
      ),
    );
  }
  if (only.has('c')) {
    const tree = tarTree(seed, sizes);
    const treeBytes = tree.reduce((s, o) => s + o.size, 0);
    const archiveBytes = (await fsp.stat(path.join(dataRoot, 'archive.tar.gz')))
      .size;
    const info: DatasetInfo = {
      id: '(c)',
      title: `(c) one ${fmt(archiveBytes / 2 ** 30, 2)} GiB tar.gz (${tree.length} files, ${fmt(treeBytes / 2 ** 30, 2)} GiB unpacked)`,
      bytes: archiveBytes,
      objects: tree.length,
      unit: 'MB/s',
      reference: 'curl | tar xz',
      limits: ['tar xzf of a local file (disk+gunzip limit)'],
    };
    infos.push(info);
    const expect = { files: tree.length, bytes: treeBytes };
    const t = target('c');
    const key = 'c/archive.tar.gz';
    cases.push(
      ...jobCases(ctx, baseline, info.id, { key, format: 'tar' }, t, expect),
    );
    cases.push({
      dataset: info.id,
      kind: 'limit',
      command: streamToTar(ctx, 'curl', key, t),
      target: t,
      expect,
    });
    for (const p of PEERS)
      cases.push({
        dataset: info.id,
        kind: 'peer',
        command: streamToTar(ctx, p, key, t),
        target: t,
        expect,
      });
    const tarArgv = [
      ctx.bins.tar,
      'xzf',
      path.join(dataRoot, 'archive.tar.gz'),
      '-C',
      t,
    ];
    cases.push(
      limitCase(
        ctx,
        info.id,
        'tar xzf of a local file (disk+gunzip limit)',
        tarArgv,
        t,
        expect,
      ),
    );
  }
  return { cases, infos };
}
