/**
 * Command lines of every tool for every dataset, built from one description of the server and the
 * concurrency budget. Credentials go in the environment, never in argv, so that the command lines
 * recorded in RESULTS.md are the real ones and hold no secret.
 */
import * as path from 'node:path';

export type ToolName = 'job' | 's5cmd' | 'rclone' | 'mc' | 'aws';
export const PEERS: ToolName[] = ['s5cmd', 'rclone', 'mc', 'aws'];

export interface ServerRef {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
}

export interface Binaries {
  node: string;
  jobBundle: string;
  s5cmd: string;
  rclone: string;
  mc: string;
  aws: string;
  curl: string;
  tar: string;
}

export interface ToolCommand {
  /** Row label in the results. */
  label: string;
  tool: ToolName | 'limit';
  argv: string[];
  env: Record<string, string>;
  /** For RESULTS.md: argv with the bench's own paths shortened, plus non-secret env. */
  display: string;
}

const BASE_ENV = () => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: process.env.HOME ?? '/root',
  LANG: 'C.UTF-8',
});

function awsEnv(s: ServerRef): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: s.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s.secretAccessKey,
    AWS_REGION: s.region,
    AWS_DEFAULT_REGION: s.region,
  };
}

/** Renders argv for humans: shell-quoted where needed, with long bench paths shortened. */
export function displayCommand(
  argv: readonly string[],
  replacements: Array<[string, string]> = [],
): string {
  return argv
    .map(a => {
      let s = a;
      for (const [from, to] of replacements) s = s.split(from).join(to);
      return /^[A-Za-z0-9_@%+=:,./*-]+$/.test(s)
        ? s
        : `'${s.replace(/'/g, `'\\''`)}'`;
    })
    .join(' ');
}

export interface JobRequestInput {
  endpoint: string;
  bucket: string;
  prefix?: string;
  key?: string;
  format?: 'objects' | 'tar';
  concurrency: number;
  include?: string[];
  allowEmpty?: boolean;
  verify?: boolean;
}

/** The RestoreRequest the job gets in KUBE_RESTORE_REQUEST (as the Job's pod would). */
export function jobRequest(input: JobRequestInput): Record<string, unknown> {
  return {
    name: 'bench',
    source: {
      endpoint: input.endpoint,
      bucket: input.bucket,
      ...(input.key !== undefined
        ? { key: input.key }
        : { prefix: input.prefix }),
      ...(input.format ? { format: input.format } : {}),
      pathStyle: true,
      ...(input.include ? { include: input.include } : {}),
    },
    target: { namespace: 'bench', pvc: 'bench' },
    options: {
      concurrency: input.concurrency,
      ...(input.allowEmpty ? { allowEmpty: true } : {}),
      ...(input.verify === false ? { verify: false } : {}),
    },
  };
}

export interface Context {
  server: ServerRef;
  bins: Binaries;
  concurrency: number;
  /** A directory for the tools' config files. */
  confDir: string;
  /** Shortening of paths in displayed command lines. */
  replacements: Array<[string, string]>;
}

/**
 * Node flags of the job's container (job-image/Dockerfile's ENTRYPOINT; tools.test.ts checks that
 * they agree). A young generation of at most 4 MiB per semi-space instead of V8's 16 cut the job's
 * peak RSS by about 20 MiB on (b) and (c) at the same speed (bench/README.md).
 */
export const JOB_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

/** The job program exactly as in a pod: its bundle, the request and the target in the environment. */
export function jobCommand(
  ctx: Context,
  source: { prefix?: string; key?: string; format?: 'objects' | 'tar' },
  target: string,
  extraNodeArgs: string[] = [],
  verify = true,
): ToolCommand {
  const req = jobRequest({
    endpoint: ctx.server.endpoint,
    bucket: ctx.server.bucket,
    concurrency: ctx.concurrency,
    verify,
    ...source,
  });
  const argv = [
    ctx.bins.node,
    ...JOB_NODE_FLAGS,
    ...extraNodeArgs,
    ctx.bins.jobBundle,
  ];
  return {
    label: verify ? 'kube-restore job' : 'job, verify: false',
    tool: 'job',
    argv,
    env: {
      ...BASE_ENV(),
      ...awsEnv(ctx.server),
      KUBE_RESTORE_REQUEST: JSON.stringify(req),
      KUBE_RESTORE_TARGET: target,
      TERMINATION_MESSAGE_PATH: path.join(ctx.confDir, 'job.termination'),
    },
    display: `KUBE_RESTORE_REQUEST='${JSON.stringify({ ...req, source: { ...(req.source as object), endpoint: 'http://127.0.0.1:PORT' } })}' KUBE_RESTORE_TARGET=TARGET ${displayCommand(argv, ctx.replacements)}`,
  };
}

function peerEnv(ctx: Context, tool: ToolName): Record<string, string> {
  const s = ctx.server;
  const env: Record<string, string> = { ...BASE_ENV(), ...awsEnv(s) };
  if (tool === 'mc') {
    const u = new URL(s.endpoint);
    env.MC_HOST_bench = `${u.protocol}//${encodeURIComponent(s.accessKeyId)}:${encodeURIComponent(s.secretAccessKey)}@${u.host}`;
  }
  if (tool === 'rclone') {
    Object.assign(env, {
      RCLONE_CONFIG: path.join(ctx.confDir, 'rclone.conf'),
      RCLONE_CONFIG_BENCH_TYPE: 's3',
      RCLONE_CONFIG_BENCH_PROVIDER: 'Minio',
      RCLONE_CONFIG_BENCH_ENDPOINT: s.endpoint,
      RCLONE_CONFIG_BENCH_REGION: s.region,
      RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: s.accessKeyId,
      RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: s.secretAccessKey,
    });
  }
  if (tool === 'aws') {
    Object.assign(env, {
      AWS_CONFIG_FILE: path.join(ctx.confDir, 'aws.config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(ctx.confDir, 'aws.credentials'),
      AWS_PAGER: '',
    });
  }
  return env;
}

/** What each tool's environment holds besides credentials, for RESULTS.md. */
export function peerEnvNote(tool: ToolName): string {
  switch (tool) {
    case 'mc':
      return 'MC_HOST_bench=http://KEY:SECRET@127.0.0.1:PORT';
    case 'rclone':
      return 'RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Minio RCLONE_CONFIG_BENCH_ENDPOINT=... (keys in RCLONE_CONFIG_BENCH_*)';
    case 'aws':
      return 'AWS_CONFIG_FILE with `s3 = max_concurrent_requests = C` (C = the budget); keys in AWS_* env';
    default:
      return 'keys in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_REGION';
  }
}

/** The aws cli's config: the concurrency budget as max_concurrent_requests. */
export function awsConfig(concurrency: number, region: string): string {
  return `[default]\nregion = ${region}\ns3 =\n  max_concurrent_requests = ${concurrency}\n`;
}

/** Every object under `prefix` to `target` (keeping the relative paths). */
export function peerCopy(
  ctx: Context,
  tool: ToolName,
  prefix: string,
  target: string,
): ToolCommand {
  const { bins, concurrency: c, server: s } = ctx;
  let argv: string[];
  switch (tool) {
    case 's5cmd':
      argv = [
        bins.s5cmd,
        '--endpoint-url',
        s.endpoint,
        '--numworkers',
        String(c),
        'cp',
        `s3://${s.bucket}/${prefix}*`,
        `${target}/`,
      ];
      break;
    case 'rclone':
      argv = [
        bins.rclone,
        'copy',
        `bench:${s.bucket}/${prefix}`,
        target,
        '--transfers',
        String(c),
        '--checkers',
        String(c),
        '--no-check-dest',
        '--log-level',
        'ERROR',
      ];
      break;
    case 'mc':
      argv = [
        bins.mc,
        '--config-dir',
        path.join(ctx.confDir, 'mc'),
        'cp',
        '--recursive',
        '--quiet',
        `bench/${s.bucket}/${prefix}`,
        `${target}/`,
      ];
      break;
    case 'aws':
      argv = [
        bins.aws,
        '--endpoint-url',
        s.endpoint,
        's3',
        'cp',
        '--recursive',
        '--only-show-errors',
        `s3://${s.bucket}/${prefix}`,
        `${target}/`,
      ];
      break;
    default:
      throw new Error(`peerCopy: ${tool} is not a peer`);
  }
  return {
    label: tool,
    tool,
    argv,
    env: peerEnv(ctx, tool),
    display: displayCommand(argv, ctx.replacements),
  };
}

/** curl's config file holding `user = "KEY:SECRET"` (mode 0600, written by the runner). */
export function curlAuthFile(ctx: Context): string {
  return path.join(ctx.confDir, 'curl-auth.conf');
}

/** One object streamed to stdout by `tool` (or curl), piped into GNU tar: `... | tar xzf - -C target`. */
export function streamToTar(
  ctx: Context,
  tool: ToolName | 'curl',
  key: string,
  target: string,
): ToolCommand {
  const { bins, server: s } = ctx;
  let producer: string[];
  let env: Record<string, string>;
  switch (tool) {
    case 'curl':
      producer = [
        bins.curl,
        '-sSf',
        '--aws-sigv4',
        `aws:amz:${s.region}:s3`,
        '-K',
        curlAuthFile(ctx),
        `${s.endpoint}/${s.bucket}/${key}`,
      ];
      env = { ...BASE_ENV(), ...awsEnv(s) };
      break;
    case 's5cmd':
      producer = [
        bins.s5cmd,
        '--endpoint-url',
        s.endpoint,
        'cat',
        `s3://${s.bucket}/${key}`,
      ];
      env = peerEnv(ctx, tool);
      break;
    case 'rclone':
      producer = [bins.rclone, 'cat', `bench:${s.bucket}/${key}`];
      env = peerEnv(ctx, tool);
      break;
    case 'mc':
      producer = [
        bins.mc,
        '--config-dir',
        path.join(ctx.confDir, 'mc'),
        'cat',
        `bench/${s.bucket}/${key}`,
      ];
      env = peerEnv(ctx, tool);
      break;
    case 'aws':
      producer = [
        bins.aws,
        '--endpoint-url',
        s.endpoint,
        's3',
        'cp',
        `s3://${s.bucket}/${key}`,
        '-',
      ];
      env = peerEnv(ctx, tool);
      break;
    default:
      throw new Error(`streamToTar: ${tool}`);
  }
  const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const script = `set -o pipefail; ${producer.map(q).join(' ')} | ${q(bins.tar)} xzf - -C ${q(target)}`;
  const shown = `${displayCommand(producer, ctx.replacements)} | tar xzf - -C TARGET`;
  return {
    label: tool === 'curl' ? 'curl | tar xz' : `${tool} | tar xz`,
    tool: tool === 'curl' ? 'limit' : tool,
    argv: ['bash', '-c', script],
    env,
    display: shown,
  };
}

/** curl fetching every given key in parallel to /dev/null: the read limit (no disk). */
export function curlToNull(
  ctx: Context,
  keys: string[],
  configFile: string,
): { command: ToolCommand; config: string } {
  const s = ctx.server;
  const config = keys
    .map(k => `url = "${s.endpoint}/${s.bucket}/${k}"\noutput = "/dev/null"\n`)
    .join('');
  const argv = [
    ctx.bins.curl,
    '-sSf',
    '-Z',
    '--parallel-max',
    String(ctx.concurrency),
    '--aws-sigv4',
    `aws:amz:${s.region}:s3`,
    '-K',
    curlAuthFile(ctx),
    '-K',
    configFile,
  ];
  return {
    config,
    command: {
      label: 'curl -Z > /dev/null (read limit)',
      tool: 'limit',
      argv,
      env: BASE_ENV(),
      display: displayCommand(argv, [
        ...ctx.replacements,
        [configFile, 'URLS.conf'],
      ]),
    },
  };
}
