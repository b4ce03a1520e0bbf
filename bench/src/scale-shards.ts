/**
 * The --scale run's LIST count: the job as one process, then as 4 shards (4 processes with
 * parallelism 4 and JOB_COMPLETION_INDEX 0..3 writing one target, as an Indexed Job's pods), all
 * through a counting proxy. The shards run twice: without bounds (every shard lists the whole
 * prefix and keeps its hash share) and with the key-range bounds core chooses when it creates the
 * restore (listShardBounds, its listing counted apart), as the Job's request then carries them.
 */
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { parseRestoreRequest } from '@kube-restore/common';
import { listShardBounds } from '@kube-restore/core';
import type { CountingProxy } from './count-proxy';
import { measure, run } from './measure';
import { fmt } from './report';
import { log, treeTotals } from './runner';
import { Context, jobCommand, jobRequest } from './tools';

export const SHARDS = 4;

interface ShardRun {
  ok: boolean;
  list: number;
  get: number;
  seconds: number;
  peakRssMiB: number;
  note: string;
}

async function runShards(
  ctx: Context,
  proxy: CountingProxy,
  target: string,
  workDir: string,
  expect: { files: number; bytes: number },
  include: string[] | undefined,
  bounds?: string[],
): Promise<ShardRun> {
  await fsp.rm(target, { recursive: true, force: true });
  await fsp.mkdir(target, { recursive: true });
  proxy.reset();
  const t0 = performance.now();
  const runs = await Promise.all(
    Array.from({ length: SHARDS }, (_, i) => {
      const cmd = jobCommand(
        ctx,
        { prefix: 'm/', parallelism: SHARDS, include },
        target,
      );
      if (bounds) {
        const req = JSON.parse(cmd.env.KUBE_RESTORE_REQUEST);
        cmd.env.KUBE_RESTORE_REQUEST = JSON.stringify({
          ...req,
          shards: { bounds },
        });
      }
      cmd.env.JOB_COMPLETION_INDEX = String(i);
      cmd.env.TERMINATION_MESSAGE_PATH = path.join(
        workDir,
        `shard-${i}.termination`,
      );
      return measure(cmd, path.join(workDir, `time.out.${i}`));
    }),
  );
  await run('sync', ['-f', target]);
  const seconds = (performance.now() - t0) / 1000;
  const t = await treeTotals(target);
  const ok =
    runs.every(s => s.exitCode === 0) &&
    t.files === expect.files &&
    t.bytes === expect.bytes;
  const note = ok
    ? 'yes'
    : `no: exits ${runs.map(s => s.exitCode).join(',')}, wrote ${t.files} files; ${runs
        .filter(s => s.exitCode !== 0)
        .map(s => s.stderr.slice(-200).replace(/\s+/g, ' '))
        .join(' / ')}`;
  log(
    `${SHARDS} shards${bounds ? ' with bounds' : ''}: ${ok ? `${seconds.toFixed(1)} s` : 'FAILED'}, ${proxy.counts.list} LIST requests`,
  );
  return {
    ok,
    list: proxy.counts.list,
    get: proxy.counts.get,
    seconds,
    peakRssMiB: Math.max(...runs.map(s => s.maxRssKiB)) / 1024,
    note,
  };
}

/** Markdown lines of the LIST comparison. */
export async function measureListRequests(opts: {
  ctx: Context;
  proxy: CountingProxy;
  target: string;
  workDir: string;
  expect: { files: number; bytes: number };
  /** Restore only these keys (LIST requests are the same whatever the filter keeps). */
  include?: string[];
}): Promise<string[]> {
  const { ctx, proxy, target, workDir, expect, include } = opts;
  await fsp.rm(target, { recursive: true, force: true });
  await fsp.mkdir(target, { recursive: true });
  proxy.reset();
  const oneCmd = jobCommand(ctx, { prefix: 'm/', include }, target);
  const one = await measure(oneCmd, path.join(workDir, 'time.out'), target);
  const oneTotals = await treeTotals(target);
  const oneOk =
    one.exitCode === 0 &&
    oneTotals.files === expect.files &&
    oneTotals.bytes === expect.bytes;
  const oneList = proxy.counts.list;
  const oneGet = proxy.counts.get;
  log(`one process: ${one.durableS.toFixed(1)} s, ${oneList} LIST requests`);

  const hashed = await runShards(ctx, proxy, target, workDir, expect, include);
  // core's listing when the restore is created: the bounds the Job's request carries
  proxy.reset();
  const request = parseRestoreRequest(
    jobRequest({
      endpoint: ctx.server.endpoint,
      bucket: ctx.server.bucket,
      prefix: 'm/',
      parallelism: SHARDS,
      include,
    }),
  );
  const bounds = await listShardBounds(request.source, SHARDS, {
    credentials: {
      accessKeyId: ctx.server.accessKeyId,
      secretAccessKey: ctx.server.secretAccessKey,
    },
  });
  const coreList = proxy.counts.list;
  const ranged = bounds
    ? await runShards(ctx, proxy, target, workDir, expect, include, bounds)
    : undefined;
  const row = (label: string, r: ShardRun) =>
    `| ${label} | ${r.note} | ${r.list} | ${r.get} | ${fmt(r.seconds, 1)} | ${fmt(r.peakRssMiB)} |`;
  return [
    '| run | succeeded | LIST requests | object GETs | s (durable) | peak RSS MiB (largest) |',
    '|---|---|---:|---:|---:|---:|',
    `| one process | ${oneOk ? 'yes' : `no: exit ${one.exitCode}, wrote ${oneTotals.files} files`} | ${oneList} | ${oneGet} | ${fmt(one.durableS, 1)} | ${fmt(one.maxRssKiB / 1024)} |`,
    row(`${SHARDS} shards, no bounds (hash split)`, hashed),
    ...(ranged
      ? [row(`${SHARDS} shards with core's key-range bounds`, ranged)]
      : []),
    '',
    `- ${SHARDS} shards without bounds / one process: **${fmt(hashed.list / Math.max(1, oneList), 2)}** LIST requests`,
    ranged
      ? `- ${SHARDS} shards with bounds / one process: **${fmt(ranged.list / Math.max(1, oneList), 2)}** (shards alone), ${fmt((ranged.list + coreList) / Math.max(1, oneList), 2)} with core's listing that chose the bounds (${coreList} LIST requests; bounds ${bounds!.join(', ')}); the issue's target is at most 1.2`
      : `- core chose no bounds (listShardBounds gave none)`,
  ];
}
