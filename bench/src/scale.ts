/**
 * `--scale [N]` (issue 26 item 5): N small objects (default 100,000; the issue's figure is
 * 1,000,000) served by versitygw's posix backend from plain files seeded once into the cache
 * (scripts/seed-scale.py). Measured, each run on a fresh target and made durable (`sync -f`):
 * - the job as in its pod, under a memory cgroup at the pod's default limit (512 MiB, --memory):
 *   success, peak RSS (GNU time) and the cgroup's peak and OOM kills, the live heap after full GCs
 *   at 10%, 30% and 100% of N (heap-probe.ts), and the time to the first byte written (the target
 *   watched every 20 ms);
 * - s5cmd and rclone on the same objects at the same concurrency budget;
 * - LIST requests (counting-proxy) of one job process against 4 shards (4 processes with
 *   parallelism 4 and JOB_COMPLETION_INDEX 0..3, as an Indexed Job's pods, writing one target).
 * Writes the `scale` block of bench/RESULTS.md (out/RESULTS-quick.md with --quick).
 */
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Args } from './args';
import { createMemoryCgroup } from './cgroup';
import { makeContext } from './context';
import { startCountingProxy } from './count-proxy';
import { measure, Measured, run, runOk } from './measure';
import { fmt } from './report';
import { log, treeTotals } from './runner';
import { BenchS3, startVersitygw } from './server';
import { benchCache, BENCH, prepareToolchain, REPO } from './toolchain';
import { removeBlock, replaceBlock } from './results-file';
import { countMatching } from './scale-keys';
import { measureListRequests, SHARDS } from './scale-shards';
import { Context, jobCommand, peerCopy, ToolCommand } from './tools';

/** Bytes of each object (small, as in the datasets of the field: labels, thumbnails, shards). */
export const SCALE_OBJECT_SIZE = 1024;

/** The first time a regular, non-empty file shows up under `dir` (polled; ms since `t0`). */
function watchFirstByte(dir: string, t0: number) {
  let found: number | undefined;
  let stopped = false;
  const look = async (d: string, depth: number): Promise<boolean> => {
    let entries;
    try {
      entries = await fsp.readdir(d, { withFileTypes: true });
    } catch {
      return false;
    }
    for (const e of entries) {
      if (e.name === '.kube-restore') continue;
      const abs = path.join(d, e.name);
      if (e.isFile()) {
        const st = await fsp.stat(abs).catch(() => undefined);
        if (st && st.size > 0) return true;
      } else if (e.isDirectory() && depth < 4 && (await look(abs, depth + 1)))
        return true;
    }
    return false;
  };
  const loop = (async () => {
    while (!stopped && found === undefined) {
      if (await look(dir, 0)) found = performance.now() - t0;
      else await new Promise(r => setTimeout(r, 20));
    }
  })();
  return {
    async stop(): Promise<number | undefined> {
      stopped = true;
      await loop;
      return found;
    },
  };
}

interface ToolRun {
  label: string;
  m: Measured;
  ok: boolean;
  error?: string;
  command: string;
}

async function fresh(target: string): Promise<void> {
  await fsp.rm(target, { recursive: true, force: true });
  await fsp.mkdir(target, { recursive: true });
}

async function checked(
  label: string,
  cmd: ToolCommand,
  target: string,
  timeFile: string,
  expect: { files: number; bytes: number },
): Promise<ToolRun> {
  const m = await measure(cmd, timeFile, target);
  let ok = m.exitCode === 0;
  let error = ok ? undefined : `exit ${m.exitCode}: ${m.stderr.slice(-300)}`;
  if (ok) {
    const t = await treeTotals(target);
    if (t.files !== expect.files || t.bytes !== expect.bytes) {
      ok = false;
      error = `wrote ${t.files} files / ${t.bytes} bytes, expected ${expect.files} / ${expect.bytes}`;
    }
  }
  log(
    `${label.padEnd(28)} ${ok ? `${m.wallS.toFixed(1)} s (durable ${m.durableS.toFixed(1)} s), ${(m.maxRssKiB / 1024).toFixed(0)} MiB` : `FAILED ${error}`}`,
  );
  return { label, m, ok, error, command: cmd.display };
}

export async function runScale(args: Args): Promise<void> {
  const n = args.objects;
  const { bins, servers, versions } = await prepareToolchain(args, log, [
    'minio',
    'mc',
    'versitygw',
  ]);
  if (!servers.versitygw)
    throw new Error('build-servers.sh did not report versitygw');
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const cache = benchCache();
  const root = path.join(cache, `scale-${n}-${SCALE_OBJECT_SIZE}-v1`);
  const seededFile = path.join(root, 'seeded.json');
  if (!existsSync(seededFile)) {
    log(`seeding ${n} objects of ${SCALE_OBJECT_SIZE} bytes into ${root}`);
    const t0 = Date.now();
    await fsp.rm(path.join(root, 'data'), { recursive: true, force: true });
    await runOk('python3', [
      path.join(BENCH, 'scripts', 'seed-scale.py'),
      path.join(root, 'data', 'bench'),
      String(n),
      String(SCALE_OBJECT_SIZE),
    ]);
    await fsp.writeFile(
      seededFile,
      JSON.stringify({
        seconds: (Date.now() - t0) / 1000,
        at: new Date().toISOString(),
      }),
    );
  }
  const seeded = JSON.parse(readFileSync(seededFile, 'utf8'));
  const workDir = path.join(args.workRoot ?? cache, `work-${process.pid}`);
  const target = path.join(workDir, 'target');
  const timeFile = path.join(workDir, 'time.out');
  const heapFile = path.join(workDir, 'heap.jsonl');
  const expect = { files: n, bytes: n * SCALE_OBJECT_SIZE };
  const heapAt = [Math.round(n / 10), Math.round((3 * n) / 10), n];
  const limitBytes = args.memoryMiB * 2 ** 20;
  let s3: BenchS3 | undefined;
  const runs: ToolRun[] = [];
  let jobExtra = '';
  let listLines: string[] = [];
  // --tools picks among job, s5cmd, rclone and shards (the counted runs); default all
  const wants = (name: string) => !args.tools || args.tools.includes(name);
  const cgroup = await createMemoryCgroup(
    `kube-restore-bench-${process.pid}`,
    limitBytes,
  );
  try {
    s3 = await startVersitygw(
      servers.versitygw,
      path.join(root, 'data'),
      path.join(root, 'versitygw.log'),
    );
    const ctxFor = (endpoint: string): Promise<Context> =>
      makeContext({
        s3: { ...s3!, endpoint },
        bucket: 'bench',
        bins,
        concurrency: args.concurrency,
        confDir: path.join(workDir, 'conf'),
        workDir,
        dataRoot: root,
      });
    const ctx = await ctxFor(s3.endpoint);

    for (let rep = 1; rep <= args.reps; rep++) {
      if (!wants('job')) break;
      // the job as in its pod: its limit, the heap probe, the first byte watched
      await fresh(target);
      await run('sync', ['-f', workDir]);
      await fsp.rm(heapFile, { force: true });
      await cgroup.resetPeak();
      const job = jobCommand(ctx, { prefix: 'm/' }, target, [
        '--expose-gc',
        '--require',
        path.join(BENCH, 'dist', 'heap-probe.cjs'),
      ]);
      Object.assign(job.env, args.jobEnv, {
        KUBE_RESTORE_BENCH_HEAP_FILE: heapFile,
        KUBE_RESTORE_BENCH_HEAP_AT: heapAt.join(','),
      });
      job.argv = cgroup.wrap(job.argv);
      const watch = watchFirstByte(target, performance.now());
      const r = await checked(
        `kube-restore job (rep ${rep})`,
        job,
        target,
        timeFile,
        expect,
      );
      const ttfbMs = await watch.stop();
      runs.push({ ...r, label: 'kube-restore job' });
      const heaps = existsSync(heapFile)
        ? readFileSync(heapFile, 'utf8')
            .trim()
            .split('\n')
            .filter(Boolean)
            .map(l => JSON.parse(l))
        : [];
      const cg = cgroup.stats();
      jobExtra += [
        `- job rep ${rep}: ${r.ok ? 'succeeded' : `**failed**: ${r.error}`}; time to first byte written ${fmt(ttfbMs === undefined ? undefined : ttfbMs / 1000, 2)} s; peak RSS ${fmt(r.m.maxRssKiB / 1024)} MiB; cgroup peak ${fmt(cg.peakBytes / 2 ** 20)} MiB of ${args.memoryMiB} (page cache of the files written included: the kernel reclaims it at the limit), OOM kills ${cg.oomKills}`,
        `- job rep ${rep} live heap after full GCs: ${heaps.length ? heaps.map(h => `${fmt(h.usedHeapBytes / 2 ** 20, 1)} MiB at ${h.objectsDone} objects (RSS ${fmt(h.rssBytes / 2 ** 20)} MiB)`).join('; ') : 'no sample (the job wrote no progress line past the counts)'}`,
        '',
      ].join('\n');
      // in the log too, so that an interrupted run keeps its figures
      log(jobExtra.trim().split('\n').slice(-2).join('\n'));
    }
    for (let rep = 1; rep <= args.reps; rep++) {
      for (const tool of ['s5cmd', 'rclone'] as const) {
        if (!wants(tool)) continue;
        await fresh(target);
        await run('sync', ['-f', workDir]);
        runs.push(
          await checked(
            tool,
            peerCopy(ctx, tool, 'm/', target),
            target,
            timeFile,
            expect,
          ),
        );
      }
    }

    // LIST requests: one process, then 4 shards, through the counting proxy
    const proxy = wants('shards')
      ? await startCountingProxy(s3.port, 'bench')
      : undefined;
    if (!proxy)
      listLines = [
        'Not run here (`--tools` without `shards`); a shards-only run writes its own `scale-list` block below.',
      ];
    else
      try {
        const matched = args.listInclude
          ? countMatching(n, args.listInclude)
          : n;
        listLines = await measureListRequests({
          ctx: await ctxFor(proxy.endpoint),
          proxy,
          target,
          workDir,
          expect: { files: matched, bytes: matched * SCALE_OBJECT_SIZE },
          include: args.listInclude ? [args.listInclude] : undefined,
        });
        if (args.listInclude)
          listLines.push(
            `- every run restores only the keys matching \`${args.listInclude}\` (${matched.toLocaleString('en')} of ${n.toLocaleString('en')}): each still lists the whole prefix, or its shard's share of it, since LIST requests do not depend on what the filter keeps`,
          );
      } finally {
        await proxy.stop();
      }
  } finally {
    await s3?.stop();
    await cgroup.remove();
    if (!args.keepWork) await fsp.rm(workDir, { recursive: true, force: true });
  }

  const rowOf = (label: string) => runs.filter(r => r.label === label && r.ok);
  const median = (xs: number[]) =>
    xs.sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const table = [
    '| tool | objects/s (durable) | s (durable, median) | peak RSS MiB | runs ok |',
    '|---|---:|---:|---:|---:|',
    ...['kube-restore job', 's5cmd', 'rclone'].map(label => {
      const ok = rowOf(label);
      const all = runs.filter(r => r.label === label);
      if (!all.length) return `| ${label} | not run (--tools) | | | 0/0 |`;
      if (!ok.length) return `| ${label} | failed | | | 0/${all.length} |`;
      const s = median(ok.map(r => r.m.durableS));
      return `| ${label} | ${fmt(n / s)} | ${fmt(s, 1)} | ${fmt(Math.max(...ok.map(r => r.m.maxRssKiB)) / 1024)} | ${ok.length}/${all.length} |`;
    }),
  ];
  const jobS = rowOf('kube-restore job').map(r => r.m.durableS);
  const peerS = ['s5cmd', 'rclone'].flatMap(l => {
    const ok = rowOf(l);
    return ok.length ? [median(ok.map(r => r.m.durableS))] : [];
  });
  const header = `Written by bench/src/scale.ts on ${startedAt.toISOString()}; load average before ${loadBefore.map(l => l.toFixed(2)).join(' ')}, after ${os
    .loadavg()
    .map(l => l.toFixed(2))
    .join(
      ' ',
    )}; job bundle ${versions['job bundle']}; s5cmd ${versions.s5cmd}, rclone ${versions.rclone}, versitygw ${path.basename(servers.versitygw).replace(/^versitygw-/, '')}.`;
  const commandLines = [
    'Command lines:',
    '',
    ...[...new Map(runs.map(r => [r.label, r.command])).entries()].map(
      ([l, c]) => `- ${l}: \`${c}\``,
    ),
  ];
  // a run of the LIST counts alone keeps the block of the last full run
  const listOnly = !['job', 's5cmd', 'rclone'].some(wants);
  const listBody = [
    `## LIST requests at ${n.toLocaleString('en')} objects: one process against ${SHARDS} shards (\`npm run bench -- --scale ${n} --tools shards${args.listInclude ? ` --list-include '${args.listInclude}'` : ''}\`)`,
    '',
    header,
    '',
    ...listLines,
    '',
  ].join('\n');
  const body = [
    `## ${n.toLocaleString('en')} small objects in one pod's memory (\`npm run bench -- --scale ${n}\`)`,
    '',
    header,
    '',
    `${n.toLocaleString('en')} objects of ${SCALE_OBJECT_SIZE} bytes (1,000 a prefix, under m/) served by versitygw's posix backend from plain files on ext4 (each ETag an MD5, which the job verifies), seeded once in ${fmt(seeded.seconds)} s. The job runs as in its pod (\`node job-image/dist/restore-job.cjs\`, KUBE_RESTORE_REQUEST/KUBE_RESTORE_TARGET, its default options) inside a cgroup ${cgroup.v2 ? 'v2' : 'v1'} memory cgroup limited to ${args.memoryMiB} MiB (the pod's default limit; no swap), not in a pod. Peers at the concurrency budget ${args.concurrency}; every figure durable (tool time plus \`sync -f\`), ${args.reps} repetition(s), output checked (files and bytes).`,
    '',
    ...table,
    '',
    `- job / best peer (objects/s, durable): **${fmt(jobS.length && peerS.length ? Math.min(...peerS) / median(jobS) : undefined, 2)}**`,
    jobExtra,
    `### LIST requests: one process against ${SHARDS} shards`,
    '',
    ...listLines,
    '',
    ...commandLines,
    '',
  ].join('\n');
  const resultsFile = path.join(
    args.quick ? path.join(BENCH, 'out') : BENCH,
    args.quick ? 'RESULTS-quick.md' : 'RESULTS.md',
  );
  const previous = existsSync(resultsFile)
    ? readFileSync(resultsFile, 'utf8')
    : '# Benchmark results\n';
  const [block, text] = listOnly
    ? (['scale-list', listBody] as const)
    : (['scale', body] as const);
  // a full run that counted LISTs itself supersedes an older LIST-only block
  const kept =
    block === 'scale' && wants('shards')
      ? removeBlock(previous, 'scale-list')
      : previous;
  await fsp.writeFile(resultsFile, replaceBlock(kept, block, text));
  log(`wrote the ${block} block of ${path.relative(REPO, resultsFile)}`);
  process.stdout.write(`${text}\n`);
}
