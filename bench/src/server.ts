/**
 * The benchmark's MinIO: the harness's binary (test/cluster/scripts/build-servers.sh), started with
 * the harness's flags on loopback, but on a data directory the benchmark keeps in its cache, so
 * that datasets are seeded once per seed and version. Credentials are random, made once per data
 * directory and kept beside it (mode 0600); they are never printed.
 */
import { spawn, ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as http from 'node:http';

export interface BenchS3 {
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  dataDir: string;
  pid: number;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function ready(url: string): Promise<boolean> {
  return new Promise(resolve => {
    const req = http.get(url, res => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(2000, () => {
      req.destroy();
      resolve(false);
    });
  });
}

const live = new Set<ChildProcess>();
function killLive(): void {
  for (const c of live) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}
process.on('exit', killLive);
// an interrupted benchmark leaves no MinIO behind
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killLive();
    process.exit(130);
  });
}

/** Credentials of a data directory: made on first use, then read back. */
function credentialsFor(dataDir: string): {
  accessKeyId: string;
  secretAccessKey: string;
} {
  const file = `${dataDir}.credentials.json`;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    const c = {
      accessKeyId: 'kube-restore-bench',
      secretAccessKey: randomBytes(18).toString('base64url'),
    };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(c), { mode: 0o600 });
    return c;
  }
}

export async function startMinio(
  binary: string,
  dataDir: string,
  logFile: string,
): Promise<BenchS3> {
  fs.mkdirSync(dataDir, { recursive: true });
  const creds = credentialsFor(dataDir);
  const [port, consolePort] = [await freePort(), await freePort()];
  const region = 'us-east-1';
  const log = fs.openSync(logFile, 'a');
  const child = spawn(
    binary,
    [
      'server',
      dataDir,
      '--address',
      `127.0.0.1:${port}`,
      '--console-address',
      `127.0.0.1:${consolePort}`,
      '--quiet',
    ],
    {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: path.dirname(dataDir),
        MINIO_ROOT_USER: creds.accessKeyId,
        MINIO_ROOT_PASSWORD: creds.secretAccessKey,
        MINIO_BROWSER: 'off',
        MINIO_UPDATE: 'off',
        MINIO_REGION: region,
      },
      stdio: ['ignore', log, log],
      detached: true,
    },
  );
  fs.closeSync(log);
  live.add(child);
  const exited = new Promise<void>(resolve =>
    child.on('exit', () => resolve()),
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`minio exited ${child.exitCode}; see ${logFile}`);
    if (await ready(`${endpoint}/minio/health/ready`)) break;
    if (Date.now() > deadline)
      throw new Error(`minio not ready after 120 s; see ${logFile}`);
    await new Promise(r => setTimeout(r, 200));
  }
  return {
    endpoint,
    port,
    region,
    dataDir,
    pid: child.pid!,
    ...creds,
    async stop() {
      if (child.exitCode === null) {
        process.kill(-child.pid!, 'SIGTERM');
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            /* gone */
          }
        }, 10_000);
        await exited;
        clearTimeout(timer);
      }
      live.delete(child);
    },
  };
}
