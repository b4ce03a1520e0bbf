/**
 * kube-restore's benchmark: the job program against s5cmd, rclone, mc and the aws cli on the
 * harness's MinIO over loopback, interleaved, median of several repetitions. See bench/README.md.
 *
 *   npm run bench               full run (writes bench/RESULTS.md and bench/throughput.svg)
 *   npm run bench -- --quick    small datasets, 3 repetitions (writes bench/out/)
 *   options: --reps N  --seed N  --concurrency N  --only a,b,c,d,startup,cluster  --tools job,mc,...
 *            --profile (CPU profiles of the job on (a), (b), (c))  --keep-work
 *            --job-bundle FILE (another build of the job)  --job-env NAME=value (repeatable)
 *            --work DIR (write targets there, e.g. /dev/shm to take the disk out)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBinaries } from '@kube-restore/test-cluster';
import {
  cacheKey,
  DatasetSizes,
  FULL,
  largeObjects,
  QUICK,
  smallObjects,
  tarTree,
} from './datasets';
import { measure, run, runOk } from './measure';
import {
  compare,
  DatasetInfo,
  fmt,
  markdownTable,
  ratioLine,
  targetLines,
  Row,
  RunRecord,
  summarizeRows,
  svgChart,
} from './report';
import { seedListing, seedMain } from './seed';
import { BenchS3, startMinio } from './server';
import { groupBy, interleave } from './stats';
import {
  awsConfig,
  Binaries,
  Context,
  curlAuthFile,
  curlToNull,
  displayCommand,
  jobCommand,
  peerCopy,
  peerEnvNote,
  PEERS,
  streamToTar,
  ToolCommand,
} from './tools';
import { CpuProfile, profileThreadId, summarizeProfile } from './profile';
import { measureListing } from './listing';
import { measureStartup } from './cli-startup';
import { measureClusterLatency } from './cluster-latency';

// eslint-disable-next-line no-restricted-syntax -- runs as the bundle bench/dist/bench.cjs
const REPO = path.resolve(__dirname, '..', '..');
const BENCH = path.join(REPO, 'bench');

interface Args {
  quick: boolean;
  reps: number;
  seed: number;
  concurrency: number;
  only: Set<string>;
  profile: boolean;
  keepWork: boolean;
  /** Only these rows (labels starting with these words), e.g. `job,mc`; default all. */
  tools?: string[];
  /** Another job bundle (default: job-image/dist/restore-job.cjs, built first). */
  jobBundle?: string;
  /** Extra environment for the job (tuning experiments), from --job-env K=V (repeatable). */
  jobEnv: Record<string, string>;
  /** Where targets are written (default: the cache directory's filesystem). */
  workRoot?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    quick: false,
    reps: 0,
    seed: 42,
    concurrency: 16,
    only: new Set(['a', 'b', 'c', 'd', 'startup', 'cluster']),
    profile: false,
    keepWork: false,
    jobEnv: {},
  };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i];
    const num = () => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1)
        throw new Error(`${v} needs a positive integer`);
      return n;
    };
    if (v === '--quick') a.quick = true;
    else if (v === '--reps') a.reps = num();
    else if (v === '--seed') a.seed = num();
    else if (v === '--concurrency') a.concurrency = num();
    else if (v === '--profile') a.profile = true;
    else if (v === '--keep-work') a.keepWork = true;
    else if (v === '--tools')
      a.tools = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (v === '--job-bundle') a.jobBundle = path.resolve(argv[++i] ?? '');
    else if (v === '--work') a.workRoot = path.resolve(argv[++i] ?? '');
    else if (v === '--job-env') {
      const m = /^([A-Z0-9_]+)=(.*)$/.exec(argv[++i] ?? '');
      if (!m) throw new Error('--job-env needs NAME=value');
      a.jobEnv[m[1]] = m[2];
    } else if (v === '--only')
      a.only = new Set((argv[++i] ?? '').split(',').filter(Boolean));
    else
      throw new Error(
        `unknown option ${v} (see the header of bench/src/main.ts)`,
      );
  }
  if (a.reps === 0) a.reps = 3;
  return a;
}

const log = (m: string) =>
  process.stderr.write(
    `[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`,
  );

function versionOf(argv: string[]): string {
  try {
    return execFileSync(argv[0], argv.slice(1), {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
      .split('\n')[0]
      .trim();
  } catch (e) {
    return `unknown (${(e as Error).message.split('\n')[0]})`;
  }
}

async function peersEnv(): Promise<Record<string, string>> {
  const out = await runOk(
    'bash',
    [path.join(BENCH, 'scripts', 'build-peers.sh')],
    process.env as Record<string, string>,
  );
  const env: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  if (!env.S5CMD || !env.RCLONE)
    throw new Error('build-peers.sh did not report S5CMD and RCLONE');
  return env;
}

/** Files and bytes under `dir`, not counting the job's manifest directory. */
async function treeTotals(
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

interface Case {
  dataset: string;
  command: ToolCommand;
  kind: RunRecord['kind'];
  /** Where the command writes; undefined for reads to /dev/null. */
  target?: string;
  expect?: { files: number; bytes: number };
}

/** One run of a case: a fresh target, a sync of what came before, then the measured command. */
async function runOnce(c: Case, workDir: string) {
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
 * run after a switch pays for the previous dataset's disk work; in the run of 2026-12-04 17:46 the
 * job took 6.02 s first in its block against 3.80-4.46 s, `verify: false` 5.57 s against 2.52 s.
 */
async function runCases(
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

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const sizes: DatasetSizes = args.quick ? QUICK : FULL;
  const cache = path.join(
    process.env.KUBE_RESTORE_CACHE ||
      path.join(os.homedir(), '.cache', 'kube-restore'),
    'bench',
  );
  const outDir = args.quick ? path.join(BENCH, 'out') : BENCH;
  await fsp.mkdir(path.join(BENCH, 'out'), { recursive: true });
  const startedAt = new Date();
  const loadBefore = os.loadavg();

  log('building the job bundle and checking the binaries');
  if (!args.jobBundle)
    await runOk(process.execPath, [path.join(REPO, 'job-image', 'build.mjs')]);
  const servers = await ensureBinaries(undefined, ['minio', 'mc']);
  const peers = await peersEnv();
  const aws = '/usr/bin/aws';
  if (!existsSync(aws))
    throw new Error(
      '/usr/bin/aws is missing: apt-get install -y awscli (the Debian package, not a pyenv aws)',
    );
  const bins: Binaries = {
    node: process.execPath,
    jobBundle:
      args.jobBundle ?? path.join(REPO, 'job-image', 'dist', 'restore-job.cjs'),
    s5cmd: peers.S5CMD,
    rclone: peers.RCLONE,
    mc: servers.mc,
    aws,
    curl: '/usr/bin/curl',
    tar: '/usr/bin/tar',
  };
  const minioVersion = path.basename(servers.minio).replace(/^minio-/, '');
  const versions: Record<string, string> = {
    node: process.version,
    'job bundle': `${path.relative(REPO, bins.jobBundle)} (git ${versionOf(['git', '-C', REPO, 'rev-parse', '--short', 'HEAD'])}${versionOf(['git', '-C', REPO, 'status', '--porcelain', 'job-image/src']) ? ', uncommitted changes in job-image/src' : ''})`,
    minio: minioVersion,
    // built from the module proxy without release ldflags: the module version is in the file name
    s5cmd: path.basename(bins.s5cmd).replace(/^s5cmd-/, ''),
    rclone: path.basename(bins.rclone).replace(/^rclone-/, ''),
    mc: path.basename(bins.mc).replace(/^mc-/, ''),
    aws: versionOf([aws, '--version']),
    curl: versionOf([bins.curl, '--version']),
    tar: versionOf([bins.tar, '--version']),
  };

  const key = cacheKey(args.seed, sizes, minioVersion);
  const dataRoot = path.join(cache, key);
  const workDir = path.join(args.workRoot ?? cache, `work-${process.pid}`);
  const confDir = path.join(workDir, 'conf');
  const stage = path.join('/dev/shm', `kube-restore-bench-${process.pid}`);
  await fsp.mkdir(confDir, { recursive: true });
  await fsp.mkdir(dataRoot, { recursive: true });
  const records: RunRecord[] = [];
  const commands: Record<string, Record<string, string>> = {};
  const infos: DatasetInfo[] = [];
  const notes: string[] = [];
  const extraSections: string[] = [];
  let seedCost = '';

  const needMain = ['a', 'b', 'c'].some(d => args.only.has(d));
  let s3: BenchS3 | undefined;
  try {
    if (needMain) {
      s3 = await startMinio(
        servers.minio,
        path.join(dataRoot, 'minio'),
        path.join(dataRoot, 'minio.log'),
      );
      const seededFile = path.join(dataRoot, 'seeded.json');
      if (!existsSync(seededFile)) {
        const t0 = Date.now();
        log(
          `seeding datasets (a)-(c) into ${dataRoot} (once per seed and version)`,
        );
        await seedMain({
          s3,
          bucket: 'bench',
          seed: args.seed,
          sizes,
          stage,
          keepDir: dataRoot,
          tools: { mc: bins.mc, s5cmd: bins.s5cmd, tar: bins.tar },
          log,
        });
        await fsp.writeFile(
          seededFile,
          JSON.stringify({
            seconds: (Date.now() - t0) / 1000,
            at: new Date().toISOString(),
          }),
        );
      }
      const seeded = JSON.parse(readFileSync(seededFile, 'utf8'));
      const du = versionOf(['du', '-sh', dataRoot]).split('\t')[0];
      seedCost = `datasets (a)-(c): seeded once in ${fmt(seeded.seconds)} s (${seeded.at}); cache ${du} on disk at ~/.cache/kube-restore/bench/${key}`;

      const ctx: Context = {
        server: { ...s3, bucket: 'bench' },
        bins,
        concurrency: args.concurrency,
        confDir,
        replacements: [
          [bins.s5cmd, 's5cmd'],
          [bins.rclone, 'rclone'],
          [bins.mc, 'mc'],
          [bins.node, 'node'],
          [bins.jobBundle, 'job-image/dist/restore-job.cjs'],
          [bins.curl, 'curl'],
          [bins.tar, 'tar'],
          [aws, '/usr/bin/aws'],
          [s3.endpoint, 'http://127.0.0.1:PORT'],
          [path.join(confDir, 'mc'), 'MCDIR'],
          [curlAuthFile({ confDir } as Context), 'AUTH.conf'],
          [workDir, 'WORK'],
          [dataRoot, 'CACHE'],
        ],
      };
      await fsp.writeFile(
        path.join(confDir, 'aws.config'),
        awsConfig(args.concurrency, s3.region),
        { mode: 0o600 },
      );
      await fsp.writeFile(path.join(confDir, 'aws.credentials'), '', {
        mode: 0o600,
      });
      await fsp.writeFile(
        curlAuthFile(ctx),
        `user = "${s3.accessKeyId}:${s3.secretAccessKey}"\n`,
        { mode: 0o600 },
      );
      const target = (name: string) => path.join(workDir, 'target', name);
      const cases: Case[] = [];

      /**
       * The cases every object dataset has, in table order: the job (and, with `variant`, the job
       * without verification), each peer copying the prefix, and curl reading every object to /dev/null.
       */
      const pushObjectCases = async (
        dataset: string,
        prefix: string,
        objects: readonly { name: string }[],
        t: string,
        expect: Case['expect'],
        variant: boolean,
      ) => {
        const job = (verify = true) =>
          jobCommand(ctx, { prefix: `${prefix}/` }, t, [], verify);
        cases.push({ dataset, kind: 'job', command: job(), target: t, expect });
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
        const urls = path.join(confDir, `urls-${prefix}.conf`);
        const c = curlToNull(
          ctx,
          objects.map(o => `${prefix}/${o.name}`),
          urls,
        );
        await fsp.writeFile(urls, c.config);
        cases.push({ dataset, kind: 'limit', command: c.command });
      };

      const large = largeObjects(sizes);
      const small = smallObjects(args.seed, sizes);
      if (args.only.has('a')) {
        const bytes = large.reduce((s, o) => s + o.size, 0);
        const info: DatasetInfo = {
          id: '(a)',
          title: `(a) ${large.length} objects of ${sizes.largeSize / 2 ** 20} MiB`,
          bytes,
          objects: large.length,
          unit: 'MB/s',
          limits: [
            'curl -Z > /dev/null (read limit)',
            'dd to disk (disk limit)',
          ],
        };
        infos.push(info);
        const expect = { files: large.length, bytes };
        const t = target('a');
        await pushObjectCases(info.id, 'a', large, t, expect, true);
        const ddArgv = [
          'dd',
          'if=/dev/zero',
          `of=${t}/dd.bin`,
          'bs=4M',
          `count=${bytes / (4 << 20)}`,
          'status=none',
        ];
        cases.push({
          dataset: info.id,
          kind: 'limit',
          target: t,
          expect,
          command: {
            label: 'dd to disk (disk limit)',
            tool: 'limit',
            argv: ddArgv,
            env: { PATH: process.env.PATH ?? '' },
            display: displayCommand(ddArgv, [[t, 'TARGET']]),
          },
        });
        // dd writes one file: expect that instead
        cases[cases.length - 1].expect = { files: 1, bytes };
      }
      if (args.only.has('b')) {
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
        await pushObjectCases(info.id, 'b', small, t, expect, false);
        const tarArgv = [
          bins.tar,
          'xf',
          path.join(dataRoot, 'small.tar'),
          '-C',
          t,
        ];
        cases.push({
          dataset: info.id,
          kind: 'limit',
          target: t,
          expect,
          command: {
            label: 'tar x of a local tar (disk limit)',
            tool: 'limit',
            argv: tarArgv,
            env: { PATH: process.env.PATH ?? '' },
            display: displayCommand(tarArgv, [
              ...ctx.replacements,
              [t, 'TARGET'],
            ]),
          },
        });
      }
      if (args.only.has('c')) {
        const tree = tarTree(args.seed, sizes);
        const treeBytes = tree.reduce((s, o) => s + o.size, 0);
        const archiveBytes = (
          await fsp.stat(path.join(dataRoot, 'archive.tar.gz'))
        ).size;
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
        cases.push({
          dataset: info.id,
          kind: 'job',
          command: jobCommand(
            ctx,
            { key: 'c/archive.tar.gz', format: 'tar' },
            t,
          ),
          target: t,
          expect,
        });
        cases.push({
          dataset: info.id,
          kind: 'limit',
          command: streamToTar(ctx, 'curl', 'c/archive.tar.gz', t),
          target: t,
          expect,
        });
        for (const p of PEERS)
          cases.push({
            dataset: info.id,
            kind: 'peer',
            command: streamToTar(ctx, p, 'c/archive.tar.gz', t),
            target: t,
            expect,
          });
        const tarArgv = [
          bins.tar,
          'xzf',
          path.join(dataRoot, 'archive.tar.gz'),
          '-C',
          t,
        ];
        cases.push({
          dataset: info.id,
          kind: 'limit',
          target: t,
          expect,
          command: {
            label: 'tar xzf of a local file (disk+gunzip limit)',
            tool: 'limit',
            argv: tarArgv,
            env: { PATH: process.env.PATH ?? '' },
            display: displayCommand(tarArgv, [
              ...ctx.replacements,
              [t, 'TARGET'],
            ]),
          },
        });
      }
      if (args.tools) {
        const wanted = args.tools;
        const keep = cases.filter(c =>
          wanted.some(
            w => c.command.label.startsWith(w) || c.command.tool === w,
          ),
        );
        cases.splice(0, cases.length, ...keep);
      }
      for (const c of cases) {
        if (c.command.tool === 'job') Object.assign(c.command.env, args.jobEnv);
        commands[c.dataset] ??= {};
        commands[c.dataset][c.command.label] = c.command.display;
      }
      log(
        `running ${cases.length} cases x ${args.reps} repetitions, interleaved`,
      );
      await runCases(cases, args.reps, workDir, records);

      if (args.profile) {
        for (const [id, source] of [
          ['(a)', { prefix: 'a/' }],
          ['(b)', { prefix: 'b/' }],
          ['(c)', { key: 'c/archive.tar.gz', format: 'tar' }],
        ] as const) {
          if (!args.only.has(id.slice(1, 2))) continue;
          const profDir = path.join(
            BENCH,
            'out',
            'profiles',
            id.replace(/[()]/g, ''),
          );
          await fsp.rm(profDir, { recursive: true, force: true });
          await fsp.mkdir(profDir, { recursive: true });
          const t = target('profile');
          await fsp.rm(t, { recursive: true, force: true });
          await fsp.mkdir(t, { recursive: true });
          const cmd = jobCommand(ctx, source, t, [
            '--cpu-prof',
            `--cpu-prof-dir=${profDir}`,
          ]);
          Object.assign(cmd.env, args.jobEnv);
          const m = await measure(cmd, path.join(workDir, 'time.out'), t);
          await fsp.rm(t, { recursive: true, force: true });
          // --cpu-prof writes one file per thread: the main thread (id 0) and each hash worker
          const byThread = new Map<number, CpuProfile>();
          for (const f of await fsp.readdir(profDir)) {
            const tid = profileThreadId(f);
            if (tid === undefined) continue;
            byThread.set(
              tid,
              JSON.parse(await fsp.readFile(path.join(profDir, f), 'utf8')),
            );
          }
          const mainThread = byThread.get(0);
          if (!mainThread) {
            throw new Error(`no main-thread .cpuprofile in ${profDir}`);
          }
          byThread.delete(0);
          const workers = [...byThread.values()];
          const workerTable =
            workers.length > 0
              ? `\n${workers.length} worker thread${workers.length > 1 ? 's' : ''} (hashing), samples summed:\n\n${summarizeProfile(workers, 8)}`
              : '';
          extraSections.push(
            `### CPU profile of the job on ${id} (node --cpu-prof; ${fmt(m.wallS, 2)} s wall, ${fmt(m.userS + m.sysS, 2)} s CPU)\n\n` +
              `Main thread:\n\n${summarizeProfile(mainThread, 15)}${workerTable}`,
          );
        }
      }
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

  // ---- report
  const loadAfter = os.loadavg();
  const panels = infos.map(info => ({
    info,
    rows: summarizeRows(info, records, commands[info.id]),
  }));
  const headline: string[] = [];
  const targets: string[] = [];
  const sections: string[] = [];
  for (const { info, rows } of panels) {
    const c = compare(info, rows);
    headline.push(ratioLine(info, c));
    targets.push(...targetLines(info, c));
    sections.push(datasetSection(info, rows, c));
  }
  const failures = records.filter(r => !r.ok);
  const chartName = args.quick ? 'throughput-quick.svg' : 'throughput.svg';
  await fsp.writeFile(
    path.join(outDir, chartName),
    svgChart(
      panels,
      `kube-restore job vs peers, ${args.quick ? 'quick' : 'full'} run, concurrency ${args.concurrency}`,
    ),
  );
  const cpu = os.cpus();
  const fsType = versionOf([
    'findmnt',
    '-n',
    '-o',
    'FSTYPE',
    '--target',
    cache,
  ]);
  const md = [
    `# Benchmark results${args.quick ? ' (quick)' : ''}`,
    '',
    `Written by \`npm run bench${args.quick ? ' -- --quick' : ''}\` (bench/src/main.ts) on ${startedAt.toISOString()}; do not edit by hand.`,
    '',
    '## Headline',
    '',
    '```',
    ...headline,
    '```',
    '',
    `![throughput](${chartName})`,
    '',
    '## Targets',
    '',
    ...targets,
    '',
    'Where a target is missed, the CPU profiles below and "What profiling changed" in bench/README.md say what stands in the way.',
    '',
    '## Machine and versions',
    '',
    `- ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, Linux ${os.release()}; targets on ${fsType} (${cache})`,
    `- load average before ${loadBefore.map(l => l.toFixed(2)).join(' ')}, after ${loadAfter.map(l => l.toFixed(2)).join(' ')}: **the machine is shared with other engineers' test runs**; runs are interleaved and medians are used, so ratios are more trustworthy than absolute figures`,
    `- seed ${args.seed}, ${args.reps} repetitions, concurrency budget ${args.concurrency} (job options.concurrency, s5cmd --numworkers, rclone --transfers/--checkers, aws max_concurrent_requests, curl --parallel-max; mc has no such flag: it adapts its workers itself)`,
    ...Object.entries(versions).map(([k, v]) => `- ${k}: ${v}`),
    `- ${seedCost}`,
    ...notes.map(n => `- ${n}`),
    '',
    '## How to read',
    '',
    "- *durable*: wall time of the tool plus a `sync -f` of the target filesystem (the data is on disk); *at exit*: the tool's own wall time. The job fdatasyncs files of 64 MiB and more before renaming them; the peers leave that to the kernel, so the durable figure is the fair one. Reads to /dev/null have no sync.",
    "- peak RSS: GNU time's maximum resident set (for a pipeline, its largest member). CPU s/GiB: user+system CPU of the tool (and its pipeline) per GiB of the dataset (for (c), of the archive).",
    "- every run's output is checked (number of files and bytes written); failed runs are excluded from the medians and counted.",
    "- order: every repetition runs each dataset's tools once, the order rotating within the dataset; each dataset's block starts with an untimed warm-up run of the job, so that no timed run follows the previous dataset's disk work.",
    '- all objects were uploaded as single-part PUTs, so their ETags are MD5s: the job verifies each body against it (rclone checks MD5 too; s5cmd, mc and aws do not).',
    '',
    ...sections,
    ...extraSections,
    ...(failures.length
      ? [
          '## Failed runs',
          '',
          ...failures.map(
            f =>
              `- ${f.dataset} ${f.label} rep ${f.rep}: ${(f.error ?? '').replace(/\s+/g, ' ').slice(0, 300)}`,
          ),
          '',
        ]
      : []),
    '## Tool environments',
    '',
    ...PEERS.map(p => `- ${p}: ${peerEnvNote(p)}`),
    '- job: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_REGION, KUBE_RESTORE_REQUEST, KUBE_RESTORE_TARGET, TERMINATION_MESSAGE_PATH (as in its pod)',
    '',
  ].join('\n');
  const resultsFile = path.join(
    outDir,
    args.quick ? 'RESULTS-quick.md' : 'RESULTS.md',
  );
  await fsp.writeFile(resultsFile, md);
  await fsp.writeFile(
    path.join(BENCH, 'out', args.quick ? 'runs-quick.json' : 'runs.json'),
    `${JSON.stringify({ versions, records }, null, 1)}\n`,
  );
  log(`wrote ${path.relative(REPO, resultsFile)}`);
  process.stdout.write(`${headline.join('\n')}\n`);
}

function datasetSection(
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

main().catch(error => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
