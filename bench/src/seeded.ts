/**
 * Datasets (a)-(c) in a MinIO data directory kept in the cache: seeded on first use (once per seed,
 * sizes, generator and MinIO version), then served as they are.
 */
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DatasetSizes } from './datasets';
import { fmt } from './report';
import { seedMain } from './seed';
import { BenchS3 } from './server';
import { versionOf } from './toolchain';
import type { Binaries } from './tools';

/** Seeds (a)-(c) into `s3` unless `dataRoot` says it was; returns the note for RESULTS.md. */
export async function ensureMainSeeded(opts: {
  s3: BenchS3;
  dataRoot: string;
  cacheKey: string;
  seed: number;
  sizes: DatasetSizes;
  stage: string;
  bins: Binaries;
  log: (m: string) => void;
}): Promise<string> {
  const { dataRoot, log } = opts;
  const seededFile = path.join(dataRoot, 'seeded.json');
  if (!existsSync(seededFile)) {
    const t0 = Date.now();
    log(
      `seeding datasets (a)-(c) into ${dataRoot} (once per seed and version)`,
    );
    await seedMain({
      s3: opts.s3,
      bucket: 'bench',
      seed: opts.seed,
      sizes: opts.sizes,
      stage: opts.stage,
      keepDir: dataRoot,
      tools: {
        mc: opts.bins.mc,
        s5cmd: opts.bins.s5cmd,
        tar: opts.bins.tar,
      },
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
  return `datasets (a)-(c): seeded once in ${fmt(seeded.seconds)} s (${seeded.at}); cache ${du} on disk at ~/.cache/kube-restore/bench/${opts.cacheKey}`;
}
