/**
 * Throughput of restore-job against a local MinIO (from the build-servers.sh cache):
 *   node build.mjs && npx esbuild scripts/bench-minio.ts --bundle --platform=node --outfile=/tmp/bench.cjs && node /tmp/bench.cjs
 * Scenarios: many small objects (objects/s), a few large ones (MB/s), one huge object (single stream
 * vs ranged parts), a tar.gz. Target directories on the root filesystem (ext4 here).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import * as tar from 'tar-stream';
import { startMinio } from '../src/__testUtils__/minio';

const BUNDLE =
  process.env.RESTORE_JOB_BUNDLE ??
  path.resolve(__dirname, '../dist/restore-job.cjs');

async function main() {
  const minio = await startMinio();
  const work = await fsp.mkdtemp(
    path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'kr-bench-'),
  );
  const small = Number(process.env.BENCH_SMALL ?? 20000);
  await minio.createBucket('bench');
  const put = (key: string, body: Buffer) => minio.put('bench', key, body);
  console.error(`seeding ${small} small objects...`);
  const four = Buffer.alloc(4096, 1);
  for (let i = 0; i < small; i += 64) {
    await Promise.all(
      Array.from({ length: Math.min(64, small - i) }, (_, j) =>
        put(`small/${String(i + j).padStart(6, '0')}`, four),
      ),
    );
  }
  console.error('seeding large objects...');
  const big = Buffer.alloc(128 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4)
    big.writeUInt32LE((i * 2654435761) >>> 0, i);
  for (let i = 0; i < 8; i++) await put(`large/${i}`, big);
  const huge = Buffer.concat([big, big, big, big, big, big, big, big]); // 1 GiB
  await minio.put('bench', 'huge/one', huge);
  const p = tar.pack();
  const gz = zlib.createGzip({ level: 1 });
  const chunks: Buffer[] = [];
  gz.on('data', d => chunks.push(d));
  const ended = new Promise(r => gz.on('end', r));
  p.pipe(gz as never);
  for (let i = 0; i < 4; i++)
    await new Promise<void>(r => p.entry({ name: `f${i}` }, big, () => r()));
  for (let i = 0; i < 2000; i++)
    await new Promise<void>(r => p.entry({ name: `s/${i}` }, four, () => r()));
  p.finalize();
  await ended;
  await minio.put('bench', 'archive.tar.gz', Buffer.concat(chunks));

  const run = (
    name: string,
    source: object,
    options: object,
    env: Record<string, string> = {},
  ) => {
    const target = path.join(work, name);
    execFileSync('rm', ['-rf', target]);
    execFileSync('mkdir', ['-p', target]);
    execFileSync('sync');
    const started = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [BUNDLE], {
      env: {
        PATH: process.env.PATH,
        KUBE_RESTORE_REQUEST: JSON.stringify({
          name: 'bench',
          source: { endpoint: minio.endpoint, bucket: 'bench', ...source },
          target: { namespace: 'b', pvc: 'b' },
          options,
        }),
        KUBE_RESTORE_TARGET: target,
        TERMINATION_MESSAGE_PATH: path.join(work, `${name}.term`),
        AWS_ACCESS_KEY_ID: minio.accessKey,
        AWS_SECRET_ACCESS_KEY: minio.secretKey,
        ...env,
      },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const term = JSON.parse(
      require('node:fs').readFileSync(path.join(work, `${name}.term`), 'utf8'),
    );
    if (term.phase !== 'Succeeded')
      throw new Error(`${name}: ${JSON.stringify(term)} ${r.stderr}`);
    const mib = term.bytes / 2 ** 20;
    console.log(
      `${name.padEnd(28)} ${String(term.objects).padStart(6)} objects ${mib.toFixed(0).padStart(6)} MiB ${seconds.toFixed(2).padStart(6)} s ` +
        `${(term.objects / seconds).toFixed(0).padStart(6)} obj/s ${(mib / seconds).toFixed(0).padStart(5)} MiB/s`,
    );
    execFileSync('rm', ['-rf', target]);
  };

  const extra = process.env.BENCH_ENV
    ? (JSON.parse(process.env.BENCH_ENV) as Record<string, string>)
    : {};
  if (small > 0) {
    for (const c of [16, 64])
      run(`small-4KiB-c${c}`, { prefix: 'small/' }, { concurrency: c }, extra);
    run(
      'small-4KiB-c16-noverify',
      { prefix: 'small/' },
      { concurrency: 16, verify: false },
      extra,
    );
  }
  for (const c of [4, 8])
    run(
      `large-8x128MiB-c${c}`,
      { prefix: 'large/' },
      { concurrency: c },
      extra,
    );
  run(
    'large-8x128MiB-c4-noverify',
    { prefix: 'large/' },
    { concurrency: 4, verify: false },
    extra,
  );
  if (process.env.BENCH_QUICK) {
    await minio.stop();
    return;
  }
  run(
    'huge-1GiB-single',
    { prefix: 'huge/' },
    // one stream: only objects of 1 TiB and more would be ranged
    { concurrency: 4, parts: { minObjectSize: '1Ti' } },
    extra,
  );
  run(
    'huge-1GiB-ranged-4x64MiB',
    { prefix: 'huge/' },
    { concurrency: 4 },
    extra,
  );
  run('tar.gz-512MiB+2000', { key: 'archive.tar.gz' }, {}, extra);
  await minio.stop();
  await fsp.rm(work, { recursive: true, force: true });
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
