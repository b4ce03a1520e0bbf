// Bundles restore-job into CommonJS files that run standalone on Node: the program, and beside it
// the hash worker it starts (src/hashWorker.ts, run on worker threads; see src/fileHasher.ts),
// the AWS SDK's control client it loads at its first control call (src/s3/controlClient.ts), and
// the native addon it loads for CRC-64/NVME, CRC-32C and small files (native/, src/nativeAddon.ts):
//   node build.mjs                   ->   dist/restore-job.cjs, dist/hash-worker.cjs,
//                                         dist/control-client.cjs, dist/native.node
//   node build.mjs --outfile <file>  ->   <file>, hash-worker.cjs, control-client.cjs and
//                                         native.node in its directory (the job's tests: each
//                                         test file builds its own)
//   node build.mjs --native <dir>    ->   <dir>/native.node alone (the image, src/image/jobImage.ts)
// Each build writes <file>.stamp.json: the SHA-256 of the outputs and of every input esbuild read.
//   node build.mjs --check [<file>]  exits 1, naming what changed, unless <file> is the bundle that
//                                    build wrote and no input changed since (suites that run the
//                                    bundle check they run the one just built, not a stale one)
// The esbuild options are in bundle.json; the tests build with this script (src/__testUtils__/job.ts);
// job-image/Dockerfile passes the same ones as flags (src/bundle.test.ts checks that they agree).
// `mainFields: module, main` takes the AWS SDK's ES modules, which esbuild can tree-shake: the
// bundle loses the commands and models the job never sends (1.7 -> 1.35 MB), and every start of
// the program about 55 ms of CPU (bench/README.md).
// `external: ./controlClient` keeps the control client (and with it the SDK) out of the program's
// bundle: the program requires control-client.cjs at its first control call, so that a restore
// that needs none neither compiles nor evaluates the SDK.
// `supported: {dynamic-import: false}` makes the SDK's lazy `import("node:http")` a require(): in a
// CommonJS program an import() goes through the ESM loader, which also loads undici, on the path
// to the first request (bench/scripts/fixed-costs.mjs measures that path).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const options = JSON.parse(
  readFileSync(path.join(here, 'bundle.json'), 'utf8'),
);

const DEFAULT_OUTFILE = path.join(here, 'dist/restore-job.cjs');
/** The worker's bundle, beside the program's (src/fileHasher.ts HASH_WORKER_FILE). */
const WORKER_FILE = 'hash-worker.cjs';
/** The SDK's control client, beside the program's (src/s3/loadControlClient.ts CONTROL_CLIENT_FILE). */
const CONTROL_CLIENT_FILE = 'control-client.cjs';
/** How the addon is compiled (the Dockerfile passes the same flags; src/image/dockerfile.test.ts). */
const native = JSON.parse(
  readFileSync(path.join(here, 'native/native.json'), 'utf8'),
);
const nativeOf = file => path.join(path.dirname(file), native.outName);
const workerOf = file => path.join(path.dirname(file), WORKER_FILE);
const controlClientOf = file =>
  path.join(path.dirname(file), CONTROL_CLIENT_FILE);
const sha256 = file =>
  createHash('sha256').update(readFileSync(file)).digest('hex');
const stampOf = file => `${file}.stamp.json`;

/** What differs between `file`, its stamp and the inputs now; empty when it is fresh. */
function staleness(file) {
  if (!existsSync(file)) return [`${file} is missing`];
  if (!existsSync(stampOf(file)))
    return [`${file} has no ${path.basename(stampOf(file))}`];
  const stamp = JSON.parse(readFileSync(stampOf(file), 'utf8'));
  if (sha256(file) !== stamp.output)
    return [`${file} changed after its build (another build wrote it?)`];
  for (const [sidecar, hash] of [
    [workerOf(file), stamp.worker],
    [controlClientOf(file), stamp.controlClient],
    [nativeOf(file), stamp.native],
  ])
    if (!existsSync(sidecar) || sha256(sidecar) !== hash)
      return [`${sidecar} is missing or changed after its build`];
  return Object.entries(stamp.inputs)
    .filter(([input, hash]) => {
      const abs = path.resolve(here, input);
      return !existsSync(abs) || sha256(abs) !== hash;
    })
    .map(([input]) => `${input} changed since the build`);
}

const check = process.argv.indexOf('--check');
if (check >= 0) {
  const arg = process.argv[check + 1];
  const file = arg ? path.resolve(arg) : DEFAULT_OUTFILE;
  const problems = staleness(file);
  if (problems.length) {
    const shown = problems.slice(0, 5).join('; ');
    const more =
      problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
    process.stderr.write(
      `the job bundle is stale: ${shown}${more}. Run \`npm run build -w @kube-restore/job\`\n`,
    );
    process.exit(1);
  }
  process.exit(0);
}

/**
 * Compiles the addon into `dir` with gcc (scripts/setup.sh installs it) against the Node-API headers
 * of the node running this script. From job-image/, with the source's relative path, so that the
 * file is the same from any checkout.
 */
function compileNative(dir) {
  const headers = path.resolve(process.execPath, '../../include/node');
  if (!existsSync(path.join(headers, 'node_api.h'))) {
    process.stderr.write(
      `no Node-API headers in ${headers} (node's include/node)\n`,
    );
    process.exit(1);
  }
  const out = path.join(dir, native.outName);
  const args = [...native.cflags, '-I', headers, ...native.sources, '-o', out];
  const run = spawnSync('gcc', args, { cwd: here, stdio: 'inherit' });
  if (run.error || run.status !== 0) {
    const why = run.error ? run.error.message : `exit ${run.status}`;
    process.stderr.write(
      `compiling ${native.sources.join(' ')} failed (${why}); it needs gcc and libc6-dev (scripts/setup.sh installs them)\n`,
    );
    process.exit(1);
  }
  return out;
}

const nativeOnly = process.argv.indexOf('--native');
if (nativeOnly >= 0) {
  const dir = process.argv[nativeOnly + 1];
  if (!dir) {
    process.stderr.write('usage: node build.mjs --native <dir>\n');
    process.exit(2);
  }
  mkdirSync(dir, { recursive: true });
  compileNative(path.resolve(dir));
  process.exit(0);
}

const at = process.argv.indexOf('--outfile');
const outfile = at >= 0 ? path.resolve(process.argv[at + 1]) : DEFAULT_OUTFILE;

const result = await build({
  ...options,
  absWorkingDir: here,
  entryPoints: {
    [path.basename(outfile, '.cjs')]: path.join(here, 'src/cli.ts'),
    [path.basename(WORKER_FILE, '.cjs')]: path.join(here, 'src/hashWorker.ts'),
    [path.basename(CONTROL_CLIENT_FILE, '.cjs')]: path.join(
      here,
      'src/s3/controlClient.ts',
    ),
  },
  outdir: path.dirname(outfile),
  outExtension: { '.js': '.cjs' },
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'info',
  metafile: true,
});
compileNative(path.dirname(outfile));
const inputs = [
  'build.mjs',
  'bundle.json',
  // every source and header of the addon
  ...readdirSync(path.join(here, 'native')).map(name => `native/${name}`),
  ...Object.keys(result.metafile.inputs),
].sort();
writeFileSync(
  stampOf(outfile),
  `${JSON.stringify(
    {
      output: sha256(outfile),
      worker: sha256(workerOf(outfile)),
      controlClient: sha256(controlClientOf(outfile)),
      native: sha256(nativeOf(outfile)),
      inputs: Object.fromEntries(
        inputs.map(input => [input, sha256(path.resolve(here, input))]),
      ),
    },
    null,
    1,
  )}\n`,
);
