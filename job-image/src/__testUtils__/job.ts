/**
 * Runs the shipped artifact, `node dist/restore-job.cjs`, as the harness's local kubelet does: request
 * and target in env, credentials as AWS_* env, a termination-message file. Every run is checked for
 * leaked credentials, so no test can forget to.
 */
import { execFileSync, spawn } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  decodeTerminationMessage,
  RestoreRequestInput,
  TerminationMessage,
} from '@kube-restore/common';

export type RequestOptions = NonNullable<RestoreRequestInput['options']>;

/** Backoff in tests: 20 ms doubling to 200 ms, unless a test asks for its own. */
const TEST_RETRY = { baseDelayMs: 20, maxDelayMs: 200 };

/**
 * The request as a test's run sends it: the test's options merged in (`retry` field by field),
 * and TEST_RETRY's backoff where neither says otherwise.
 */
export function withTestOptions(
  request: RestoreRequestInput,
  options: Partial<RequestOptions> = {},
): RestoreRequestInput {
  const given = request.options ?? {};
  return {
    ...request,
    options: {
      ...given,
      ...options,
      retry: { ...TEST_RETRY, ...given.retry, ...options.retry },
    },
  };
}

const JOB_DIR = path.resolve(__dirname, '../..');
/**
 * This test process's own bundle: never job-image/dist/restore-job.cjs, which `npm run build` makes
 * for the cluster suites (a test file rebuilding it could race them, or leave them a bundle of
 * sources under test).
 */
export const BUNDLE = path.join(
  os.tmpdir(),
  `kr-restore-job-test-${process.pid}`,
  'restore-job.cjs',
);

let built = false;

/** Builds BUNDLE from the sources under test with build.mjs (bundle.json's options), once per test file. */
export function ensureBundle(): string {
  if (built) return BUNDLE;
  try {
    execFileSync(
      process.execPath,
      [path.join(JOB_DIR, 'build.mjs'), '--outfile', BUNDLE],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch (error) {
    const { stderr } = error as { stderr?: Buffer };
    throw new Error(
      `building the job's bundle failed (node build.mjs --outfile ${BUNDLE}):\n${stderr ?? ''}`,
    );
  }
  built = true;
  return BUNDLE;
}

export interface JobRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  lines: Array<Record<string, any>>;
  progress: Array<Record<string, any>>;
  termination?: TerminationMessage;
  terminationRaw: string;
}

export interface RunJobOptions {
  request: RestoreRequestInput;
  target: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  env?: Record<string, string>;
  /** Merged into the request's options (withTestOptions): parts, retry... */
  options?: Partial<RequestOptions>;
  /** Node's own flags before the bundle (a heap cap, --expose-gc, --require). */
  nodeArgs?: string[];
  /** Runs this bundle instead of BUNDLE (a copy of it, with files beside it left out). */
  bundle?: string;
  /** Sends SIGTERM once a stdout line satisfies this. */
  sigtermWhen?: (line: Record<string, any>) => boolean;
  timeoutMs?: number;
}

export async function runJob(options: RunJobOptions): Promise<JobRun> {
  ensureBundle();
  const termDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kr-term-'));
  const termFile = path.join(termDir, 'termination-log');
  const bundle = options.bundle ?? BUNDLE;
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), bundle], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: os.tmpdir(),
      KUBE_RESTORE_REQUEST: JSON.stringify(
        withTestOptions(options.request, options.options),
      ),
      KUBE_RESTORE_TARGET: options.target,
      TERMINATION_MESSAGE_PATH: termFile,
      AWS_ACCESS_KEY_ID: options.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: options.credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let pending = '';
  let signalled = false;
  const lines: Array<Record<string, any>> = [];
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
    pending += d;
    for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
      const raw = pending.slice(0, i);
      pending = pending.slice(i + 1);
      let line: Record<string, any>;
      try {
        line = JSON.parse(raw);
      } catch {
        line = { type: 'text', text: raw };
      }
      lines.push(line);
      if (!signalled && options.sigtermWhen?.(line)) {
        signalled = true;
        child.kill('SIGTERM');
      }
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const timer = setTimeout(
    () => child.kill('SIGKILL'),
    options.timeoutMs ?? 60_000,
  );
  const [code, signal] = await new Promise<
    [number | null, NodeJS.Signals | null]
  >(resolve => child.on('exit', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  let terminationRaw = '';
  try {
    terminationRaw = readFileSync(termFile, 'utf8');
  } catch {
    // none written
  }
  await fsp.rm(termDir, { recursive: true, force: true });
  const decoded = decodeTerminationMessage(terminationRaw);
  const run: JobRun = {
    code,
    signal,
    stdout,
    stderr,
    lines,
    progress: lines.filter(l => l.type === 'progress'),
    termination: decoded.kind === 'structured' ? decoded.message : undefined,
    terminationRaw,
  };
  assertNoCredentials(run, options.credentials);
  return run;
}

/** Throws if a credential value appears anywhere the job wrote. */
export function assertNoCredentials(
  run: JobRun,
  credentials: { accessKeyId: string; secretAccessKey: string },
): void {
  for (const [where, text] of [
    ['stdout', run.stdout],
    ['stderr', run.stderr],
    ['termination message', run.terminationRaw],
  ]) {
    for (const secret of [
      credentials.accessKeyId,
      credentials.secretAccessKey,
    ]) {
      if (text.includes(secret))
        throw new Error(`a credential appeared in the job's ${where}`);
    }
  }
}

/** Every file under `dir` (relative path -> content), skipping .kube-restore and lost+found. */
export async function readTree(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (d: string, prefix: string) => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      if (!prefix && (e.name === '.kube-restore' || e.name === 'lost+found'))
        continue;
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(path.join(d, e.name), rel);
      else out.set(rel, await fsp.readFile(path.join(d, e.name)));
    }
  };
  await walk(dir, '');
  return out;
}

/** Names of temporary files anywhere under `dir`. */
export async function temporaries(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(path.join(d, e.name));
      else if (e.name.startsWith('.kr-tmp-')) out.push(path.join(d, e.name));
    }
  };
  await walk(dir);
  return out;
}
