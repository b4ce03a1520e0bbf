/**
 * The loopback run: datasets (a)-(c) on the harness's MinIO over loopback, interleaved, then (d),
 * CLI start-up and cluster latency; writes RESULTS.md (or out/RESULTS-quick.md) and the chart.
 */
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBinaries } from '@kube-restore/test-cluster';
import type { Args } from './args';
import { makeContext } from './context';
import { cacheKey, DatasetSizes, FULL, QUICK } from './datasets';
import { profileSections } from './job-profile';
import { measureListing } from './listing';
import { loopbackCases } from './loopback-cases';
import {
  loopbackMarkdown,
  loopbackPanels,
  LoopbackReport,
} from './loopback-report';
import { measureStartup } from './cli-startup';
import { measureClusterLatency } from './cluster-latency';
import { RunRecord, svgChart, DatasetInfo } from './report';
import { carryBlocks } from './results-file';
import { log, runSelected } from './runner';
import { seedListing } from './seed';
import { ensureMainSeeded } from './seeded';
import { BenchS3, startMinio } from './server';
import {
  benchCache,
  BENCH,
  prepareToolchain,
  REPO,
  versionOf,
} from './toolchain';

export async function runLoopback(args: Args): Promise<void> {
  const sizes: DatasetSizes = args.quick ? QUICK : FULL;
  const cache = benchCache();
  const outDir = args.quick ? path.join(BENCH, 'out') : BENCH;
  await fsp.mkdir(path.join(BENCH, 'out'), { recursive: true });
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const { bins, servers, minioVersion, versions } = await prepareToolchain(
    args,
    log,
  );

  const key = cacheKey(args.seed, sizes, minioVersion);
  const dataRoot = path.join(cache, key);
  const workDir = path.join(args.workRoot ?? cache, `work-${process.pid}`);
  const confDir = path.join(workDir, 'conf');
  const stage = path.join('/dev/shm', `kube-restore-bench-${process.pid}`);
  await fsp.mkdir(confDir, { recursive: true });
  await fsp.mkdir(dataRoot, { recursive: true });
  const records: RunRecord[] = [];
  const commands: Record<string, Record<string, string>> = {};
  let infos: DatasetInfo[] = [];
  const notes: string[] = [];
  const extraSections: string[] = [];

  const needMain = ['a', 'b', 'c'].some(d => args.only.has(d));
  let s3: BenchS3 | undefined;
  try {
    if (needMain) {
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
          sizes,
          stage,
          bins,
          log,
        }),
      );

      const ctx = await makeContext({
        s3,
        bucket: 'bench',
        bins,
        concurrency: args.concurrency,
        confDir,
        workDir,
        dataRoot,
      });
      const target = (name: string) => path.join(workDir, 'target', name);
      const built = await loopbackCases({
        ctx,
        only: args.only,
        seed: args.seed,
        sizes,
        dataRoot,
        target,
        baseline: args.jobBaseline,
      });
      infos = built.infos;
      await runSelected(built.cases, {
        tools: args.tools,
        jobEnv: args.jobEnv,
        commands,
        reps: args.reps,
        workDir,
        records,
        announce: n =>
          `running ${n} cases x ${args.reps} repetitions, interleaved`,
      });

      if (args.profile)
        extraSections.push(
          ...(await profileSections({
            ctx,
            only: args.only,
            jobEnv: args.jobEnv,
            outDir: path.join(BENCH, 'out'),
            workDir,
            target: target('profile'),
          })),
        );
      await s3.stop();
      s3 = undefined;
    }

    if (args.only.has('d')) {
      const d = await measureListing({
        bins,
        minio: servers.minio,
        cache,
        seed: args.seed,
        sizes,
        stage,
        workDir,
        log,
        seedListing,
      });
      extraSections.push(d.markdown);
      notes.push(d.costNote);
    }
    if (args.only.has('startup')) {
      const kubectl =
        servers.kubectl || (await ensureBinaries(undefined, ['k8s'])).kubectl;
      extraSections.push(
        await measureStartup({ runs: args.quick ? 10 : 30, kubectl, log }),
      );
    }
    if (args.only.has('cluster')) {
      extraSections.push(
        await measureClusterLatency({
          concurrent: args.quick ? 10 : 50,
          log,
        }),
      );
    }
  } finally {
    await s3?.stop();
    await fsp.rm(stage, { recursive: true, force: true });
    if (!args.keepWork) await fsp.rm(workDir, { recursive: true, force: true });
  }

  const chartName = args.quick ? 'throughput-quick.svg' : 'throughput.svg';
  const report: LoopbackReport = {
    quick: args.quick,
    startedAt,
    loadBefore,
    loadAfter: os.loadavg(),
    fsType: versionOf(['findmnt', '-n', '-o', 'FSTYPE', '--target', cache]),
    cache,
    seed: args.seed,
    reps: args.reps,
    concurrency: args.concurrency,
    versions,
    notes,
    chartName,
    infos,
    records,
    commands,
    extraSections,
  };
  await fsp.writeFile(
    path.join(outDir, chartName),
    svgChart(
      loopbackPanels(report),
      `kube-restore job vs peers, ${args.quick ? 'quick' : 'full'} run, concurrency ${args.concurrency}`,
    ),
  );
  const { markdown, headline } = loopbackMarkdown(report);
  const resultsFile = path.join(
    outDir,
    args.quick ? 'RESULTS-quick.md' : 'RESULTS.md',
  );
  const previous = existsSync(resultsFile)
    ? readFileSync(resultsFile, 'utf8')
    : '';
  await fsp.writeFile(resultsFile, carryBlocks(previous, markdown));
  await fsp.writeFile(
    path.join(BENCH, 'out', args.quick ? 'runs-quick.json' : 'runs.json'),
    `${JSON.stringify({ versions, records }, null, 1)}\n`,
  );
  log(`wrote ${path.relative(REPO, resultsFile)}`);
  process.stdout.write(`${headline.join('\n')}\n`);
}
