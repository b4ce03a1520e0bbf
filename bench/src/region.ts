/**
 * `--region`: the tools reach MinIO through an emulated link (link.ts: 20 ms or 80 ms of round
 * trip, a per-connection bandwidth cap), over HTTP and over HTTPS (a CA made for the run, pki.ts).
 * Each peer runs a small sweep of its concurrency setting; the job runs at its defaults. Datasets:
 * the quick sizes of (a) and (b), so that a run takes minutes. Writes the `region` block of
 * bench/RESULTS.md (or out/RESULTS-quick.md with --quick).
 */
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Args } from './args';
import { makeContext } from './context';
import { cacheKey, largeObjects, QUICK, smallObjects } from './datasets';
import { LinkOptions, startLinkProxy } from './link';
import { makePki } from './pki';
import { regionPanels, regionSection, regionSummary } from './region-report';
import { baselineLabel, DatasetInfo, fmt, RunRecord } from './report';
import { profileSections } from './job-profile';
import { failureLines } from './loopback-report';
import { replaceBlock } from './results-file';
import { Case, log, runSelected } from './runner';
import { ensureMainSeeded } from './seeded';
import { BenchS3, startMinio } from './server';
import { benchCache, BENCH, prepareToolchain, REPO } from './toolchain';
import {
  awsConfig,
  awsConfigFile,
  Context,
  jobCommand,
  mcCaFile,
  PART_PEERS,
  PartFlags,
  peerCopy,
  ToolName,
} from './tools';

/** The per-connection cap: 50 MB/s (400 Mbit/s) each way, about what one TCP stream to a region gets. */
export const BANDWIDTH_BYTES_PER_S = 50e6;

export interface RegionSetting {
  id: string;
  label: string;
  rttMs: number;
  tls: boolean;
}

export const REGION_SETTINGS: RegionSetting[] = [
  { id: 'rtt20', label: '20 ms', rttMs: 20, tls: false },
  { id: 'rtt80', label: '80 ms', rttMs: 80, tls: false },
  { id: 'https20', label: 'HTTPS, 20 ms', rttMs: 20, tls: true },
  { id: 'https80', label: 'HTTPS, 80 ms', rttMs: 80, tls: true },
];
const DEFAULT_SETTINGS = ['rtt20', 'rtt80', 'https20'];

/** Each peer's concurrency sweep (mc has no such setting: it runs once, as it is). */
export const SWEEP: Array<[ToolName, number[]]> = [
  ['s5cmd', [16, 64, 256]],
  ['rclone', [16, 64, 128]],
  ['aws', [16, 64]],
];
export const REGION_PEERS = ['s5cmd', 'rclone', 'aws', 'mc'];

/**
 * On the large objects, s5cmd and rclone also run split into parallel ranged GETs (at the sweep's
 * first concurrency, which already exceeds the object count): their defaults (s5cmd 50 MiB parts,
 * 5 at a time; rclone only from 256 MiB) plus these.
 */
export const PART_SWEEP: PartFlags[] = [
  { sizeMiB: 8, streams: 4 },
  { sizeMiB: 8, streams: 8 },
  { sizeMiB: 16, streams: 4 },
  { sizeMiB: 16, streams: 8 },
];

function regionCases(
  ctx: Context,
  setting: RegionSetting,
  target: string,
  only: Set<string>,
  seed: number,
  baseline?: string,
): { cases: Case[]; infos: DatasetInfo[] } {
  const cases: Case[] = [];
  const infos: DatasetInfo[] = [];
  const datasets = [
    ['a', largeObjects(QUICK), 'MB/s'],
    ['b', smallObjects(seed, QUICK), 'obj/s'],
  ] as const;
  for (const [prefix, objects, unit] of datasets) {
    if (!only.has(prefix)) continue;
    const bytes = objects.reduce((s, o) => s + o.size, 0);
    const size = objects[0].size;
    const info: DatasetInfo = {
      id: `(${prefix}) ${setting.label}`,
      title: `(${prefix}) ${objects.length} objects of ${size >= 2 ** 20 ? `${size / 2 ** 20} MiB` : `${size / 1024} KiB`}`,
      bytes,
      objects: objects.length,
      unit,
    };
    infos.push(info);
    const expect = { files: objects.length, bytes };
    const base = { dataset: info.id, target, expect };
    cases.push({
      ...base,
      kind: 'job',
      command: jobCommand(ctx, { prefix: `${prefix}/` }, target),
    });
    if (baseline) {
      const other = jobCommand(
        { ...ctx, bins: { ...ctx.bins, jobBundle: baseline } },
        { prefix: `${prefix}/` },
        target,
      );
      cases.push({
        ...base,
        kind: 'variant',
        command: { ...other, label: baselineLabel(baseline) },
      });
    }
    for (const [tool, values] of SWEEP) {
      for (const w of values)
        cases.push({
          ...base,
          kind: 'peer',
          command: peerCopy(ctx, tool, `${prefix}/`, target, w),
        });
      if (prefix !== 'a' || !PART_PEERS.includes(tool)) continue;
      for (const parts of PART_SWEEP)
        cases.push({
          ...base,
          kind: 'peer',
          command: peerCopy(ctx, tool, `${prefix}/`, target, values[0], parts),
        });
    }
    cases.push({
      ...base,
      kind: 'peer',
      command: peerCopy(ctx, 'mc', `${prefix}/`, target),
    });
  }
  return { cases, infos };
}

export async function runRegion(args: Args): Promise<void> {
  const { bins, servers, minioVersion, versions } = await prepareToolchain(
    args,
    log,
  );
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const cache = benchCache();
  const key = cacheKey(args.seed, QUICK, minioVersion);
  const dataRoot = path.join(cache, key);
  const workDir = path.join(args.workRoot ?? cache, `work-${process.pid}`);
  const stage = path.join('/dev/shm', `kube-restore-bench-${process.pid}`);
  const named = REGION_SETTINGS.filter(
    s => args.onlyGiven && args.only.has(s.id),
  );
  const wanted = named.length
    ? named
    : REGION_SETTINGS.filter(s => DEFAULT_SETTINGS.includes(s.id));
  const only =
    args.onlyGiven && (args.only.has('a') || args.only.has('b'))
      ? args.only
      : new Set(['a', 'b']);
  const records: RunRecord[] = [];
  const commands: Record<string, Record<string, string>> = {};
  const settings: Array<{ setting: string; infos: DatasetInfo[] }> = [];
  const notes: string[] = [];
  /** --profile: CPU profiles of the job per setting, to out/region-profiles.md (not RESULTS.md). */
  const profiles: string[] = [];
  const pki = await makePki(path.join(workDir, 'pki'));
  let s3: BenchS3 | undefined;
  try {
    // seeded (if need be) over plain HTTP, the way the loopback run seeds
    s3 = await startMinio(
      servers.minio,
      path.join(dataRoot, 'minio'),
      path.join(dataRoot, 'minio.log'),
    );
    notes.push(
      await ensureMainSeeded({
        s3,
        dataRoot,
        cacheKey: key,
        seed: args.seed,
        sizes: QUICK,
        stage,
        bins,
        log,
      }),
    );
    await s3.stop();
    s3 = undefined;
    for (const tls of [false, true]) {
      const group = wanted.filter(s => s.tls === tls);
      if (!group.length) continue;
      s3 = await startMinio(
        servers.minio,
        path.join(dataRoot, 'minio'),
        path.join(dataRoot, 'minio.log'),
        tls ? pki : undefined,
      );
      for (const setting of group) {
        const link: LinkOptions = {
          rttMs: setting.rttMs,
          bytesPerSecond: BANDWIDTH_BYTES_PER_S,
        };
        const proxy = await startLinkProxy(s3.port, link);
        try {
          const scheme = tls ? 'https' : 'http';
          const ctx = await makeContext({
            s3: { ...s3, endpoint: `${scheme}://127.0.0.1:${proxy.port}` },
            bucket: 'bench',
            bins,
            concurrency: args.concurrency,
            confDir: path.join(workDir, 'conf'),
            workDir,
            dataRoot,
            endpointShown: `${scheme}://127.0.0.1:PORT`,
          });
          ctx.jobDefaults = true;
          if (tls) {
            ctx.caFile = pki.caFile;
            ctx.replacements.push([pki.caFile, 'CA.crt']);
            await fsp.mkdir(path.dirname(mcCaFile(ctx)), { recursive: true });
            await fsp.copyFile(pki.caFile, mcCaFile(ctx));
          }
          for (const w of SWEEP.find(([t]) => t === 'aws')![1])
            await fsp.writeFile(
              awsConfigFile(ctx, w),
              awsConfig(w, s3.region),
              {
                mode: 0o600,
              },
            );
          const built = regionCases(
            ctx,
            setting,
            path.join(workDir, 'target'),
            only,
            args.seed,
            args.jobBaseline,
          );
          settings.push({ setting: setting.label, infos: built.infos });
          await runSelected(built.cases, {
            tools: args.tools,
            jobEnv: args.jobEnv,
            commands,
            reps: args.reps,
            workDir,
            records,
            announce: n =>
              `${setting.label}: ${n} cases x ${args.reps} repetitions through the link`,
          });
          notes.push(
            `${setting.label}: the link accepted ${proxy.connections()} connections`,
          );
          if (args.profile)
            profiles.push(
              `## ${setting.label}\n`,
              ...(await profileSections({
                ctx,
                only,
                jobEnv: args.jobEnv,
                outDir: path.join(BENCH, 'out', 'region', setting.id),
                workDir,
                target: path.join(workDir, 'profile'),
              })),
            );
        } finally {
          await proxy.stop();
        }
      }
      await s3.stop();
      s3 = undefined;
    }
  } finally {
    await s3?.stop();
    await fsp.rm(stage, { recursive: true, force: true });
    if (!args.keepWork) await fsp.rm(workDir, { recursive: true, force: true });
  }

  const panels = regionPanels(settings, records, commands);
  const body = [
    '## Emulated region (`npm run bench -- --region`)',
    '',
    `Written by \`npm run bench -- --region\` (bench/src/region.ts) on ${startedAt.toISOString()}; load average before ${loadBefore.map(l => l.toFixed(2)).join(' ')}, after ${os
      .loadavg()
      .map(l => l.toFixed(2))
      .join(' ')}; job bundle ${versions['job bundle']}.`,
    '',
    `Every tool reaches MinIO through bench/src/link.ts: a TCP proxy adding the round trip per request/response turn (and one more per new connection, the handshake) and capping each connection at ${fmt(BANDWIDTH_BYTES_PER_S / 1e6)} MB/s each way. HTTPS rows: MinIO with a certificate from a CA made for the run; the job gets it in AWS_CA_BUNDLE (what source.caBundle becomes), s5cmd and aws in AWS_CA_BUNDLE, rclone in --ca-cert, mc in its config directory's certs/CAs. The job runs at its defaults (no options.concurrency; verification on: every body's CRC64NVME, the checksum each object carries besides its MD5 ETag, as S3 stores objects today); each peer runs a sweep of its concurrency setting (${SWEEP.map(([t, v]) => `${t} ${v.join('/')}`).join(', ')}; mc as it is; on (a), s5cmd and rclone also split each object into ranged parts of ${PART_SWEEP.map(p => `${p.sizeMiB} MiB x ${p.streams}`).join(' and ')} besides their own defaults), and the job is compared with the best setting of the best peer. Durable figures (tool time plus \`sync -f\`), median of ${args.reps} interleaved repetitions per setting; datasets: (a) ${QUICK.largeCount} x ${QUICK.largeSize / 2 ** 20} MiB, (b) ${QUICK.smallCount} x ${QUICK.smallSize / 1024} KiB (seed ${args.seed}, the quick sizes).`,
    '',
    regionSummary(panels, REGION_PEERS),
    '',
    ...notes.map(n => `- ${n}`),
    '',
    ...panels.map(regionSection),
    ...failureLines(records),
  ].join('\n');
  const resultsFile = path.join(
    args.quick ? path.join(BENCH, 'out') : BENCH,
    args.quick ? 'RESULTS-quick.md' : 'RESULTS.md',
  );
  const previous = existsSync(resultsFile)
    ? readFileSync(resultsFile, 'utf8')
    : '# Benchmark results\n';
  await fsp.writeFile(resultsFile, replaceBlock(previous, 'region', body));
  await fsp.writeFile(
    path.join(BENCH, 'out', 'runs-region.json'),
    `${JSON.stringify({ versions, records }, null, 1)}\n`,
  );
  log(`wrote the region block of ${path.relative(REPO, resultsFile)}`);
  if (profiles.length) {
    const file = path.join(BENCH, 'out', 'region-profiles.md');
    await fsp.writeFile(file, `${profiles.join('\n\n')}\n`);
    log(`wrote the job's CPU profiles to ${path.relative(REPO, file)}`);
  }
  process.stdout.write(`${regionSummary(panels, REGION_PEERS)}\n`);
}
