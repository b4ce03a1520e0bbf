/**
 * The tools' shared context for one S3 server: the server, the binaries and the concurrency budget,
 * the tools' config files (mode 0600, credentials never in argv) and the path shortenings of the
 * command lines shown in RESULTS.md.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { BenchS3 } from './server';
import { REPO } from './toolchain';
import { curlAuthFile } from './pipes';
import { awsConfig, Binaries, Context } from './tools';

export async function makeContext(opts: {
  s3: Pick<BenchS3, 'endpoint' | 'region' | 'accessKeyId' | 'secretAccessKey'>;
  bucket: string;
  bins: Binaries;
  concurrency: number;
  confDir: string;
  /** Directories shown as WORK and CACHE in command lines. */
  workDir: string;
  dataRoot: string;
  /** How the endpoint is shown (default http://127.0.0.1:PORT). */
  endpointShown?: string;
}): Promise<Context> {
  const { s3, bins, confDir } = opts;
  await fsp.mkdir(confDir, { recursive: true });
  const ctx: Context = {
    server: { ...s3, bucket: opts.bucket },
    bins,
    concurrency: opts.concurrency,
    confDir,
    replacements: [
      [bins.s5cmd, 's5cmd'],
      [bins.rclone, 'rclone'],
      [bins.mc, 'mc'],
      [bins.node, 'node'],
      [bins.jobBundle, 'job-image/dist/restore-job.cjs'],
      [bins.curl, 'curl'],
      [bins.tar, 'tar'],
      [bins.aws, '/usr/bin/aws'],
      [s3.endpoint, opts.endpointShown ?? 'http://127.0.0.1:PORT'],
      [path.join(confDir, 'mc'), 'MCDIR'],
      [curlAuthFile({ confDir } as Context), 'AUTH.conf'],
      [opts.workDir, 'WORK'],
      [`${REPO}/`, ''],
      [opts.dataRoot, 'CACHE'],
    ],
  };
  await fsp.writeFile(
    path.join(confDir, 'aws.config'),
    awsConfig(opts.concurrency, s3.region),
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
  return ctx;
}
