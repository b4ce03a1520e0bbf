/**
 * The read-side command lines: one object streamed by a tool (or curl) into GNU tar, and curl
 * reading every object to /dev/null (the read limit). Credentials in a 0600 config file or the
 * environment, never in argv.
 */
import * as path from 'node:path';
import {
  awsEnv,
  BASE_ENV,
  Context,
  displayCommand,
  peerEnv,
  ToolCommand,
  ToolName,
} from './tools';

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
