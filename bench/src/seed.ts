/**
 * Seeding: datasets are generated from the seed into a staging directory on tmpfs and uploaded
 * with mc as S3 stores an object today: single-part PUTs (every ETag is the MD5 of the body) with a
 * full-object CRC64NVME checksum (S3 adds one to every new object); or with s5cmd for the
 * million-key listing bucket. The server's data directory is cached, so this runs
 * once per seed, sizes, generator version and MinIO version.
 */
import { createWriteStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { once } from 'node:events';
import {
  DatasetSizes,
  largeObjects,
  listingKeys,
  PlannedObject,
  plannedChunks,
  smallObjects,
  tarTree,
} from './datasets';
import { runOk } from './measure';
import type { BenchS3 } from './server';

export async function writePlanned(
  dir: string,
  seed: number,
  objects: PlannedObject[],
): Promise<void> {
  const made = new Set<string>();
  for (const o of objects) {
    const file = path.join(dir, o.name);
    const parent = path.dirname(file);
    if (!made.has(parent)) {
      await fsp.mkdir(parent, { recursive: true });
      made.add(parent);
    }
    const out = createWriteStream(file, { highWaterMark: 4 << 20 });
    for (const chunk of plannedChunks(seed, o)) {
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'close');
  }
}

export interface SeedTools {
  mc: string;
  s5cmd: string;
  tar: string;
}

function mcEnv(s3: BenchS3, confDir: string): Record<string, string> {
  const u = new URL(s3.endpoint);
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: confDir,
    MC_CONFIG_DIR: path.join(confDir, 'mc'),
    MC_HOST_bench: `${u.protocol}//${s3.accessKeyId}:${encodeURIComponent(s3.secretAccessKey)}@${u.host}`,
  };
}

/** mc's flags for the checksum each object carries besides its ETag. */
const CHECKSUM = ['--checksum', 'CRC64NVME'];

/** Uploads datasets (a), (b), (c) into bucket `bucket`; leaves small.tar and archive.tar.gz in `keepDir`. */
export async function seedMain(opts: {
  s3: BenchS3;
  bucket: string;
  seed: number;
  sizes: DatasetSizes;
  stage: string;
  keepDir: string;
  tools: SeedTools;
  log: (m: string) => void;
}): Promise<void> {
  const { s3, bucket, seed, sizes, stage, keepDir, tools, log } = opts;
  const env = mcEnv(s3, stage);
  const mc = (...args: string[]) => runOk(tools.mc, args, env);
  await fsp.mkdir(stage, { recursive: true });
  await mc('mb', '--ignore-existing', `bench/${bucket}`);

  log('seeding (a) large objects');
  await writePlanned(path.join(stage, 'a'), seed, largeObjects(sizes));
  await mc(
    'cp',
    '--recursive',
    '--disable-multipart',
    ...CHECKSUM,
    '--quiet',
    `${stage}/a/`,
    `bench/${bucket}/a/`,
  );
  await fsp.rm(path.join(stage, 'a'), { recursive: true, force: true });

  log('seeding (b) small objects');
  await writePlanned(path.join(stage, 'b'), seed, smallObjects(seed, sizes));
  await mc(
    'cp',
    '--recursive',
    '--disable-multipart',
    ...CHECKSUM,
    '--quiet',
    `${stage}/b/`,
    `bench/${bucket}/b/`,
  );
  // the same tree as a local uncompressed tar: the disk's limit for creating these files
  await runOk(tools.tar, [
    '--sort=name',
    '--mtime=@0',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '-cf',
    path.join(keepDir, 'small.tar'),
    '-C',
    path.join(stage, 'b'),
    '.',
  ]);
  await fsp.rm(path.join(stage, 'b'), { recursive: true, force: true });

  log('seeding (c) tar.gz of a mixed tree');
  await writePlanned(path.join(stage, 'c'), seed, tarTree(seed, sizes));
  const archive = path.join(keepDir, 'archive.tar.gz');
  await runOk(tools.tar, [
    '--sort=name',
    '--mtime=@0',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '-I',
    'gzip -n -6',
    '-cf',
    archive,
    '-C',
    path.join(stage, 'c'),
    '.',
  ]);
  await fsp.rm(path.join(stage, 'c'), { recursive: true, force: true });
  await mc(
    'cp',
    '--disable-multipart',
    ...CHECKSUM,
    '--quiet',
    archive,
    `bench/${bucket}/c/archive.tar.gz`,
  );
}

/** (d): `listingKeys` zero-byte objects in bucket `bucket`, uploaded by s5cmd from empty files on tmpfs. */
export async function seedListing(opts: {
  s3: BenchS3;
  bucket: string;
  seed: number;
  sizes: DatasetSizes;
  stage: string;
  tools: SeedTools;
  log: (m: string) => void;
}): Promise<void> {
  const { s3, bucket, seed, sizes, stage, tools, log } = opts;
  const env = mcEnv(s3, stage);
  await fsp.mkdir(stage, { recursive: true });
  await runOk(tools.mc, ['mb', '--ignore-existing', `bench/${bucket}`], env);
  const keys = listingKeys(seed, sizes);
  log(`seeding (d): ${keys.length} empty files on tmpfs`);
  const root = path.join(stage, 'd');
  const made = new Set<string>();
  for (const key of keys) {
    const parent = path.dirname(path.join(root, key));
    if (!made.has(parent)) {
      await fsp.mkdir(parent, { recursive: true });
      made.add(parent);
    }
    await fsp.writeFile(path.join(root, key), '');
  }
  log(`seeding (d): uploading ${keys.length} keys with s5cmd`);
  await runOk(
    tools.s5cmd,
    [
      '--endpoint-url',
      s3.endpoint,
      '--numworkers',
      '64',
      '--log',
      'error',
      'cp',
      `${root}/`,
      `s3://${bucket}/`,
    ],
    {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: stage,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
    },
  );
  await fsp.rm(root, { recursive: true, force: true });
}
