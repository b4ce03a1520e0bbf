// Where a small restore spends its time: the job against s5cmd on N objects of 4 KiB from a local
// MinIO (the harness's binary), interleaved, with the job's milestones from process start: its
// first log line (the bundle loaded, the request parsed), the first file under its final name
// (fs.watch on the target), and the exit; plus user+sys CPU of each process (GNU time).
//   node bench/scripts/fixed-costs.mjs [--objects 2000] [--reps 5] [--bundle job-image/dist/restore-job.cjs[,OTHER...]]
//                                      [--prof DIR] (node --cpu-prof of each job run into DIR)
// Several bundles (comma-separated) run as job1, job2... in the same interleaved rotation.
// Prints one line per run and the medians. Needs the harness's MinIO and s5cmd
// (test/cluster/scripts/build-servers.sh minio; bench/scripts/build-peers.sh).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const OBJECTS = Number(arg('objects', 2000));
const REPS = Number(arg('reps', 5));
const BUNDLES = arg(
  'bundle',
  path.join(here, '../../job-image/dist/restore-job.cjs'),
)
  .split(',')
  .map(b => path.resolve(b));
const PROF = arg('prof');
const CACHE =
  process.env.KUBE_RESTORE_CACHE ||
  path.join(os.homedir(), '.cache/kube-restore');
const newest = prefix => {
  const names = fs
    .readdirSync(path.join(CACHE, 'bin'))
    .filter(n => n.startsWith(prefix))
    .sort();
  if (!names.length) throw new Error(`no ${prefix}* in ${CACHE}/bin`);
  return path.join(CACHE, 'bin', names[names.length - 1]);
};
const MINIO = newest('minio-v');
const S5CMD = newest('s5cmd-v');

const freePort = () =>
  new Promise(resolve => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-fixed-'));
const port = await freePort();
const endpoint = `http://127.0.0.1:${port}`;
const creds = {
  AWS_ACCESS_KEY_ID: `AK${randomBytes(8).toString('hex')}`,
  AWS_SECRET_ACCESS_KEY: `SK${randomBytes(16).toString('hex')}`,
  AWS_REGION: 'us-east-1',
};
const minio = spawn(
  MINIO,
  [
    'server',
    path.join(work, 'minio'),
    '--address',
    `127.0.0.1:${port}`,
    '--console-address',
    `127.0.0.1:${await freePort()}`,
    '--quiet',
  ],
  {
    env: {
      ...process.env,
      MINIO_ROOT_USER: creds.AWS_ACCESS_KEY_ID,
      MINIO_ROOT_PASSWORD: creds.AWS_SECRET_ACCESS_KEY,
      MINIO_BROWSER: 'off',
      MINIO_UPDATE: 'off',
    },
    stdio: 'ignore',
  },
);
try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${endpoint}/minio/health/ready`)).ok) break;
    } catch {
      // not yet
    }
    if (i > 300) throw new Error('minio did not start');
    await new Promise(r => setTimeout(r, 100));
  }
  const s5 = (...args) => {
    const r = spawnSync(S5CMD, ['--endpoint-url', endpoint, ...args], {
      env: { ...process.env, ...creds },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`s5cmd ${args.join(' ')}: ${r.stderr}`);
  };
  const seed = path.join(work, 'seed');
  for (let i = 0; i < OBJECTS; i++) {
    const dir = path.join(seed, `d${i % 20}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `f${i}.bin`), randomBytes(4096));
  }
  s5('mb', 's3://bench');
  s5('cp', `${seed}/`, 's3://bench/small/');

  /** Runs `argv` under GNU time, watching `target` for its first file; returns the milestones in ms. */
  const timed = (argv, env, target) =>
    new Promise(resolve => {
      const t0 = performance.now();
      let firstFile;
      let firstLine;
      const watcher = fs.watch(target, { recursive: true }, (_, name) => {
        if (
          firstFile === undefined &&
          name &&
          !name.includes('.kr-tmp-') &&
          name.endsWith('.bin')
        )
          firstFile = performance.now() - t0;
      });
      const child = spawn('/usr/bin/time', ['-f', '%U %S', ...argv], {
        env: { PATH: process.env.PATH, HOME: os.tmpdir(), ...creds, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', d => {
        firstLine ??= performance.now() - t0;
        out = (out + d).slice(-2000);
      });
      let err = '';
      child.stderr.on('data', d => (err += d));
      child.on('exit', code => {
        const end = performance.now() - t0;
        watcher.close();
        const [user, sys] = err.trim().split('\n').pop().split(' ').map(Number);
        resolve({
          code,
          firstLine,
          firstFile,
          end,
          cpu: (user + sys) * 1000,
          err: err + out,
        });
      });
    });

  const request = {
    name: 'fixed-costs',
    source: { endpoint, bucket: 'bench', prefix: 'small/' },
    target: { namespace: 'b', pvc: 'b' },
  };
  const job = bundle => target => [
    [
      'node',
      '--max-semi-space-size=4',
      ...(PROF ? ['--cpu-prof', `--cpu-prof-dir=${PROF}`] : []),
      bundle,
    ],
    {
      KUBE_RESTORE_REQUEST: JSON.stringify(request),
      KUBE_RESTORE_TARGET: target,
      TERMINATION_MESSAGE_PATH: path.join(work, 'term'),
    },
  ];
  const tools = {
    ...Object.fromEntries(
      BUNDLES.map((b, i) => [
        BUNDLES.length > 1 ? `job${i + 1}` : 'job',
        job(b),
      ]),
    ),
    s5cmd: target => [
      [
        S5CMD,
        '--endpoint-url',
        endpoint,
        '--numworkers',
        '16',
        'cp',
        's3://bench/small/*',
        `${target}/`,
      ],
      {},
    ],
  };
  const results = Object.fromEntries(Object.keys(tools).map(t => [t, []]));
  for (let rep = 0; rep < REPS; rep++) {
    // the order rotates, so that no tool always runs first or after the same one
    const names = Object.keys(tools);
    const order = names.map((_, i) => names[(i + rep) % names.length]);
    for (const tool of order) {
      const target = path.join(work, `t-${tool}-${rep}`);
      fs.mkdirSync(target);
      spawnSync('sync');
      const [argv, env] = tools[tool](target);
      const r = await timed(argv, env, target);
      if (r.code !== 0) throw new Error(`${tool} exited ${r.code}: ${r.err}`);
      const files = spawnSync(
        'find',
        [target, '-type', 'f', '-name', '*.bin'],
        { encoding: 'utf8' },
      )
        .stdout.trim()
        .split('\n').length;
      if (files !== OBJECTS)
        throw new Error(`${tool} wrote ${files} files, not ${OBJECTS}`);
      results[tool].push(r);
      const f = x => (x === undefined ? '-' : x.toFixed(0).padStart(5));
      console.log(
        `${tool.padEnd(6)} rep ${rep}: first line ${f(r.firstLine)} ms, first file ${f(r.firstFile)} ms, ` +
          `end ${f(r.end)} ms, cpu ${f(r.cpu)} ms`,
      );
      fs.rmSync(target, { recursive: true, force: true });
    }
  }
  for (const [tool, rs] of Object.entries(results)) {
    const m = key => median(rs.map(r => r[key] ?? NaN)).toFixed(0);
    console.log(
      `median ${tool.padEnd(6)}: first line ${m('firstLine')} ms, first file ${m('firstFile')} ms, end ${m('end')} ms, cpu ${m('cpu')} ms (${REPS} runs, ${OBJECTS} x 4 KiB)`,
    );
  }
} finally {
  minio.kill();
  fs.rmSync(work, { recursive: true, force: true });
}
