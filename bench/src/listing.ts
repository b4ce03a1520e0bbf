/**
 * (d) a 1,000,000-key listing, for sizing only: peak memory and time of core's sizeSource and of
 * the job program's listing (a request whose include glob matches nothing, with allowEmpty, so the
 * job lists and filters every key and writes nothing), over the whole bucket and over one of its
 * 16 top-level prefixes: memory that does not grow with the key count is what "constant" means.
 *
 * Seeding a million keys is slow, so it is done once: MinIO on tmpfs takes the uploads, then its
 * data directory is copied to ~/.cache/kube-restore/bench/listing-<key>/ and served from there.
 */
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { cacheKey, DatasetSizes } from './datasets';
import { measure, runOk } from './measure';
import { liveHeapAfterGcMB } from './profile';
import { fmt, HeapAt, heapGrowth } from './report';
import type { seedListing as SeedListing } from './seed';
import { startMinio } from './server';
import { Binaries, JOB_NODE_FLAGS, jobRequest } from './tools';

interface ListingSource {
  endpoint: string;
  bucket: string;
  prefix: string;
  pathStyle: boolean;
}

/** The old-generation cap of the bounded-memory row: about twice sizeSource's live heap. */
const CAPPED_OLD_SPACE_MIB = 48;

export async function measureListing(opts: {
  bins: Binaries;
  minio: string;
  cache: string;
  seed: number;
  sizes: DatasetSizes;
  stage: string;
  workDir: string;
  log: (m: string) => void;
  seedListing: typeof SeedListing;
}): Promise<{ markdown: string; costNote: string }> {
  const { bins, cache, seed, sizes, stage, workDir, log } = opts;
  const key = cacheKey(
    seed,
    {
      ...sizes,
      largeCount: 0,
      smallCount: 0,
      tarBigFiles: 0,
      tarSmallFiles: 0,
    },
    path.basename(opts.minio),
  );
  const root = path.join(cache, `listing-${key}`);
  const dataDir = path.join(root, 'minio');
  const seededFile = path.join(root, 'seeded.json');
  if (!existsSync(seededFile)) {
    const t0 = Date.now();
    const shmData = path.join(stage, 'listing-minio');
    await fsp.rm(shmData, { recursive: true, force: true });
    await fsp.mkdir(root, { recursive: true });
    const s3 = await startMinio(
      opts.minio,
      shmData,
      path.join(root, 'seed-minio.log'),
    );
    try {
      await opts.seedListing({
        s3,
        bucket: 'listing',
        seed,
        sizes,
        stage,
        tools: { mc: bins.mc, s5cmd: bins.s5cmd, tar: bins.tar },
        log,
      });
    } finally {
      await s3.stop();
    }
    const uploadedS = (Date.now() - t0) / 1000;
    log('(d): copying the seeded data directory from tmpfs to the cache');
    await fsp.rm(dataDir, { recursive: true, force: true });
    await fsp.mkdir(dataDir, { recursive: true });
    await runOk('bash', [
      '-c',
      'set -o pipefail; tar -C "$1" -cf - . | tar -C "$2" -xf -',
      'copy',
      shmData,
      dataDir,
    ]);
    // the credentials file lives beside the data directory
    await fsp.copyFile(
      `${shmData}.credentials.json`,
      `${dataDir}.credentials.json`,
    );
    await fsp.rm(shmData, { recursive: true, force: true });
    await fsp.rm(`${shmData}.credentials.json`, { force: true });
    await fsp.writeFile(
      seededFile,
      JSON.stringify({
        uploadedS,
        totalS: (Date.now() - t0) / 1000,
        at: new Date().toISOString(),
      }),
    );
  }
  const seeded = JSON.parse(readFileSync(seededFile, 'utf8'));
  const du = (await runOk('du', ['-sh', dataDir])).split('\t')[0];
  const costNote = `dataset (d): ${sizes.listingKeys} keys seeded once (${seeded.at}): ${fmt(seeded.uploadedS)} s uploading to MinIO on tmpfs with s5cmd, ${fmt(seeded.totalS - seeded.uploadedS)} s copying to the cache; ${du} on disk at ~/.cache/kube-restore/bench/listing-${key}`;

  const s3 = await startMinio(
    opts.minio,
    dataDir,
    path.join(root, 'minio.log'),
  );
  const rows: string[] = [];
  // live heap per row label, in the order of the prefixes (one prefix, then all keys)
  const heaps = new Map<string, HeapAt[]>();
  const note = (label: string, keys: number, trace: string) => {
    const at = heaps.get(label) ?? [];
    at.push({ keys, liveMiB: liveHeapAfterGcMB(trace) });
    heaps.set(label, at);
  };
  let bounded = '';
  try {
    const awsEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: workDir,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
    };
    // eslint-disable-next-line no-restricted-syntax -- the probe is bundled beside bench/dist/bench.cjs
    const probe = path.join(__dirname, 'size-probe.cjs');
    // Warm-up (not measured): one listing of everything, so that neither tool pays for a cold
    // page cache under MinIO's metadata.
    const warm = await measure(
      {
        argv: [bins.node, probe],
        env: {
          ...awsEnv,
          PROBE_SOURCE: JSON.stringify({
            endpoint: s3.endpoint,
            bucket: 'listing',
            prefix: '',
            pathStyle: true,
          }),
        },
      },
      path.join(workDir, 'time.out'),
    );
    log(`(d) warm-up listing: ${warm.wallS} s`);
    // core's sizeSource in a child process of its own, with `flags` for node; one row.
    const sizeProbe = async (
      source: ListingSource,
      label: string,
      flags: string[],
    ): Promise<number> => {
      const { prefix } = source;
      const m1 = await measure(
        {
          argv: [bins.node, ...flags, '--trace-gc', probe],
          env: { ...awsEnv, PROBE_SOURCE: JSON.stringify(source) },
        },
        path.join(workDir, 'time.out'),
      );
      if (m1.exitCode !== 0)
        throw new Error(`size-probe failed: ${m1.stderr.slice(-1000)}`);
      // the result is the one JSON line among --trace-gc's
      const result = m1.stdout
        .split('\n')
        .filter(line => line.startsWith('{'))
        .pop();
      const listed = JSON.parse(result ?? '{}').objects as number;
      note(label, listed, m1.stdout);
      if (flags.length > 0)
        bounded = `with ${flags.join(' ')}, sizeSource listed all ${listed} keys in ${fmt(m1.wallS, 1)} s at ${fmt(m1.maxRssKiB / 1024)} MiB peak RSS`;
      rows.push(
        `| ${label} | \`${prefix || '(all)'}\` | ${listed} | ${fmt(m1.wallS, 1)} | ${fmt(listed / m1.wallS)} | ${fmt(m1.maxRssKiB / 1024)} | ${fmt(liveHeapAfterGcMB(m1.stdout), 1)} |`,
      );
      log(
        `(d) ${label} ${prefix || '(all)'}: ${listed} keys, ${m1.wallS} s, ${(m1.maxRssKiB / 1024).toFixed(0)} MiB`,
      );
      return listed;
    };
    // one top-level prefix holds about 1/16 of the keys
    for (const prefix of ['d00/', '']) {
      const source = {
        endpoint: s3.endpoint,
        bucket: 'listing',
        prefix,
        pathStyle: true,
      };
      const listed = await sizeProbe(source, 'core sizeSource', []);
      // Bounded, not just slow to grow: the same listing with V8's old generation capped.
      if (prefix === '') {
        const capped = await sizeProbe(
          source,
          `core sizeSource, old space capped at ${CAPPED_OLD_SPACE_MIB} MiB`,
          [`--max-old-space-size=${CAPPED_OLD_SPACE_MIB}`],
        );
        if (capped !== listed)
          throw new Error(
            `sizeSource with a capped heap counted ${capped} keys, ${listed} without`,
          );
      }

      const target = path.join(workDir, 'listing-target');
      await fsp.rm(target, { recursive: true, force: true });
      await fsp.mkdir(target, { recursive: true });
      const req = jobRequest({
        endpoint: s3.endpoint,
        bucket: 'listing',
        prefix,
        concurrency: 16,
        include: ['no-such-file-*'],
        allowEmpty: true,
      });
      const termination = path.join(workDir, 'listing.termination');
      const m2 = await measure(
        {
          // as in its container (JOB_NODE_FLAGS), plus the GC trace
          argv: [bins.node, ...JOB_NODE_FLAGS, '--trace-gc', bins.jobBundle],
          env: {
            ...awsEnv,
            KUBE_RESTORE_REQUEST: JSON.stringify(req),
            KUBE_RESTORE_TARGET: target,
            TERMINATION_MESSAGE_PATH: termination,
          },
        },
        path.join(workDir, 'time.out'),
      );
      if (m2.exitCode !== 0)
        throw new Error(`job listing failed: ${m2.stderr.slice(-1000)}`);
      note('job listing', listed, m2.stdout);
      rows.push(
        `| job listing (include matches nothing) | \`${prefix || '(all)'}\` | ${listed} | ${fmt(m2.wallS, 1)} | ${fmt(listed / m2.wallS)} | ${fmt(m2.maxRssKiB / 1024)} | ${fmt(liveHeapAfterGcMB(m2.stdout), 1)} |`,
      );
      log(
        `(d) job listing ${prefix || '(all)'}: ${m2.wallS} s, ${(m2.maxRssKiB / 1024).toFixed(0)} MiB`,
      );
    }
  } finally {
    await s3.stop();
  }
  const markdown = [
    `## (d) listing of ${sizes.listingKeys} keys (sizing only)`,
    '',
    '| what | prefix | keys | s | keys/s | peak RSS MiB | live heap MiB |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `- constant memory, live heap: ${['core sizeSource', 'job listing']
      .map(label => {
        const [small, large] = heaps.get(label) ?? [];
        return small && large
          ? heapGrowth(label, small, large)
          : `${label} n/a`;
      })
      .join('; ')}`,
    `- bounded: ${bounded || 'n/a'}`,
    '',
    "Constant memory: the peak RSS over all keys against one prefix (~1/16 of them). *live heap*: the largest JS heap left after a full garbage collection (`node --trace-gc`, main thread), the data actually held; peak RSS also counts garbage V8 had not collected yet. The job's listing streams pages; a real restore of a million objects also holds its plan (one entry per object) to check every path before writing.",
    '',
  ].join('\n');
  return { markdown, costNote };
}
