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

export const BASE_ENV = () => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: process.env.HOME ?? '/root',
  LANG: 'C.UTF-8',
});

export function awsEnv(s: ServerRef): Record<string, string> {
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
  /** Undefined: the job's default. */
  concurrency?: number;
  include?: string[];
  allowEmpty?: boolean;
  verify?: boolean;
  /** Pods of an Indexed Job (each process then needs JOB_COMPLETION_INDEX). */
  parallelism?: number;
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
      ...(input.concurrency !== undefined
        ? { concurrency: input.concurrency }
        : {}),
      ...(input.allowEmpty ? { allowEmpty: true } : {}),
      ...(input.parallelism ? { parallelism: input.parallelism } : {}),
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
  /** The CA that signed an HTTPS server's certificate, given to every tool its own way. */
  caFile?: string;
  /** The job runs at its default concurrency instead of the budget. */
  jobDefaults?: boolean;
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
  source: {
    prefix?: string;
    key?: string;
    format?: 'objects' | 'tar';
    parallelism?: number;
    include?: string[];
  },
  target: string,
  extraNodeArgs: string[] = [],
  verify = true,
): ToolCommand {
  const req = jobRequest({
    endpoint: ctx.server.endpoint,
    bucket: ctx.server.bucket,
    concurrency: ctx.jobDefaults ? undefined : ctx.concurrency,
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
      // what core sets from the request's source.caBundle ConfigMap
      ...(ctx.caFile ? { AWS_CA_BUNDLE: ctx.caFile } : {}),
    },
    display: `KUBE_RESTORE_REQUEST='${JSON.stringify({ ...req, source: { ...(req.source as object), endpoint: displayCommand([ctx.server.endpoint], ctx.replacements) } })}' KUBE_RESTORE_TARGET=TARGET${ctx.caFile ? ' AWS_CA_BUNDLE=CA.crt' : ''} ${displayCommand(argv, ctx.replacements)}`,
  };
}

/** The aws cli's config file for a concurrency (the budget's by default). */
export function awsConfigFile(ctx: Context, concurrency?: number): string {
  return path.join(
    ctx.confDir,
    concurrency === undefined ? 'aws.config' : `aws-${concurrency}.config`,
  );
}

/** Where mc looks for extra CAs under its --config-dir. */
export function mcCaFile(ctx: Context): string {
  return path.join(ctx.confDir, 'mc', 'certs', 'CAs', 'ca.crt');
}

export function peerEnv(
  ctx: Context,
  tool: ToolName,
  workers?: number,
): Record<string, string> {
  const s = ctx.server;
  const env: Record<string, string> = { ...BASE_ENV(), ...awsEnv(s) };
  // s5cmd (aws-sdk-go) and the aws cli read the CA bundle from AWS_CA_BUNDLE; rclone takes
  // --ca-cert and mc its config directory's certs/CAs (see peerCopy and mcCaFile)
  if (ctx.caFile && (tool === 's5cmd' || tool === 'aws'))
    env.AWS_CA_BUNDLE = ctx.caFile;
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
      AWS_CONFIG_FILE: awsConfigFile(ctx, workers),
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

/**
 * How a peer splits one large object into parallel ranged GETs: parts of `sizeMiB`, `streams` of
 * them at a time (s5cmd `cp --part-size --concurrency`; rclone `--multi-thread-chunk-size
 * --multi-thread-streams`, with `--multi-thread-cutoff` at twice the part size so that an object
 * of two parts or more is split). Without it each peer runs its own defaults.
 */
export interface PartFlags {
  sizeMiB: number;
  streams: number;
}

/** The peers that take PartFlags. */
export const PART_PEERS: readonly ToolName[] = ['s5cmd', 'rclone'];

function partArgs(tool: ToolName, parts: PartFlags | undefined): string[] {
  if (!parts) return [];
  const { sizeMiB, streams } = parts;
  if (tool === 's5cmd')
    return ['--part-size', String(sizeMiB), '--concurrency', String(streams)];
  if (tool === 'rclone')
    return [
      '--multi-thread-cutoff',
      `${2 * sizeMiB}Mi`,
      '--multi-thread-chunk-size',
      `${sizeMiB}Mi`,
      '--multi-thread-streams',
      String(streams),
    ];
  throw new Error(`peerCopy: ${tool} takes no part flags`);
}

/**
 * Every object under `prefix` to `target` (keeping the relative paths), with the concurrency budget,
 * or with `workers` as the tool's own concurrency setting (the region run's sweep; the aws cli's
 * config file for it is written by the caller, awsConfigFile), and `parts` as its ranged-GET split.
 */
export function peerCopy(
  ctx: Context,
  tool: ToolName,
  prefix: string,
  target: string,
  workers?: number,
  parts?: PartFlags,
): ToolCommand {
  const { bins, server: s } = ctx;
  const c = workers ?? ctx.concurrency;
  const split = partArgs(tool, parts);
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
        ...split,
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
        ...split,
        ...(ctx.caFile ? ['--ca-cert', ctx.caFile] : []),
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
  const sweep: Partial<Record<ToolName, string>> = {
    s5cmd: `--numworkers ${c}`,
    rclone: `--transfers ${c}`,
    aws: `max_concurrent_requests ${c}`,
  };
  const label =
    workers !== undefined && sweep[tool] ? `${tool} ${sweep[tool]}` : tool;
  return {
    label: split.length > 0 ? `${label} ${split.join(' ')}` : label,
    tool,
    argv,
    env: peerEnv(ctx, tool, workers),
    display: displayCommand(argv, ctx.replacements),
  };
}
