/*
 * S3 servers on loopback: MinIO (the reference server users run) and versitygw (a maintained S3
 * gateway over a POSIX directory: a second implementation, to catch MinIO-only behaviour).
 * startCluster() starts MinIO with launchS3(); startS3Server() runs one on its own, e.g. for the
 * job program's tests, which need S3 but no Kubernetes.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureBinaries } from './binaries';
import { ManagedProcess, spawnManaged } from './processes';
import { createRun } from './run';
import { freePorts, httpGet, waitFor } from './util';

export type S3ServerKind = 'minio' | 'versitygw';

export const S3_REGION = 'us-east-1';

export interface S3Info {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export interface LaunchedS3 {
  kind: S3ServerKind;
  info: S3Info;
  /** the server's data directory: buckets are its subdirectories (versitygw: plain files) */
  dataDir: string;
  proc: ManagedProcess;
  ready(timeoutMs?: number): Promise<void>;
}

export async function launchS3(opts: {
  kind: S3ServerKind;
  binary: string;
  runId: string;
  dataDir: string;
  logDir: string;
  env?: NodeJS.ProcessEnv;
  /** the address to listen on (default 127.0.0.1; a cluster's pods need the pod network's gateway) */
  host?: string;
}): Promise<LaunchedS3> {
  const [port, port2] = await freePorts(2);
  const host = opts.host ?? '127.0.0.1';
  const info: S3Info = {
    endpoint: `http://${host}:${port}`,
    accessKeyId: 'kube-restore-test',
    secretAccessKey: crypto.randomBytes(18).toString('base64url'),
    region: S3_REGION,
  };
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const baseEnv = opts.env ?? {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: opts.dataDir,
  };
  let proc: ManagedProcess;
  let check: () => Promise<boolean>;
  if (opts.kind === 'minio') {
    proc = spawnManaged(
      opts.runId,
      'minio',
      opts.binary,
      [
        'server',
        opts.dataDir,
        '--address',
        `${host}:${port}`,
        '--console-address',
        `127.0.0.1:${port2}`,
        '--quiet',
      ],
      {
        env: {
          ...baseEnv,
          MINIO_ROOT_USER: info.accessKeyId,
          MINIO_ROOT_PASSWORD: info.secretAccessKey,
          MINIO_BROWSER: 'off',
          MINIO_UPDATE: 'off',
          MINIO_REGION: info.region,
        },
        logFile: path.join(opts.logDir, 'minio.log'),
      },
    );
    check = async () =>
      (await httpGet(`${info.endpoint}/minio/health/ready`)).status === 200;
  } else {
    const versions = `${opts.dataDir}.versions`;
    fs.mkdirSync(versions, { recursive: true });
    proc = spawnManaged(
      opts.runId,
      'versitygw',
      opts.binary,
      [
        '--access',
        info.accessKeyId,
        '--secret',
        info.secretAccessKey,
        '--region',
        info.region,
        '--port',
        `${host}:${port}`,
        '--quiet',
        'posix',
        '--versioning-dir',
        versions,
        opts.dataDir,
      ],
      { env: baseEnv, logFile: path.join(opts.logDir, 'versitygw.log') },
    );
    // any HTTP answer (403 for an anonymous request) means it is serving
    check = async () => (await httpGet(`${info.endpoint}/`)).status > 0;
  }
  return {
    kind: opts.kind,
    info,
    dataDir: opts.dataDir,
    proc,
    ready: (timeoutMs = 60_000) => waitFor(opts.kind, proc, check, timeoutMs),
  };
}

export interface S3Server extends S3Info {
  kind: S3ServerKind;
  dataDir: string;
  pid: number;
  /** AWS_* and KUBE_RESTORE_S3_ENDPOINT, for a child process */
  env(): Record<string, string>;
  stop(): Promise<void>;
}

/**
 * One S3 server on its own (no Kubernetes), with a fresh data directory; stopped by PID, cleaned up
 * on signals, exit, and by the reaper like a cluster.
 */
export async function startS3Server(
  options: {
    kind?: S3ServerKind;
    cacheDir?: string;
    verbose?: boolean;
    keep?: boolean;
    installSignalHandlers?: boolean;
  } = {},
): Promise<S3Server> {
  const kind = options.kind ?? 'minio';
  const r = await createRun({
    kind,
    cacheDir: options.cacheDir,
    verbose: options.verbose,
    keep: options.keep,
    installSignalHandlers: options.installSignalHandlers,
  });
  try {
    const bins = await ensureBinaries(options.cacheDir, [kind]);
    const binary = kind === 'minio' ? bins.minio : bins.versitygw;
    if (!binary) throw new Error(`build-servers.sh did not report ${kind}`);
    const s3 = await launchS3({
      kind,
      binary,
      runId: r.runId,
      dataDir: path.join(r.runDir, 's3'),
      logDir: r.logDir,
    });
    await s3.ready();
    r.state.ready = true;
    r.state.pids = { [kind]: s3.proc.pid };
    r.writeState();
    r.log(`${kind} ready at ${s3.info.endpoint}`);
    return {
      kind,
      ...s3.info,
      dataDir: s3.dataDir,
      pid: s3.proc.pid,
      env: () => ({
        KUBE_RESTORE_S3_ENDPOINT: s3.info.endpoint,
        AWS_ACCESS_KEY_ID: s3.info.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.info.secretAccessKey,
        AWS_REGION: s3.info.region,
      }),
      async stop() {
        if (r.finished) return;
        const left = await r.finish();
        if (left.length)
          throw new Error(
            `${kind}: processes ${left.join(', ')} survived SIGKILL`,
          );
      },
    };
  } catch (e) {
    await r.finish();
    (e as Error).message =
      `startS3Server(${kind}) failed: ${(e as Error).message}`;
    throw e;
  }
}
