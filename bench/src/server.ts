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
import * as https from 'node:https';

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

function ready(url: string, ca?: Buffer): Promise<boolean> {
  return new Promise(resolve => {
    const req = (ca ? https : http).get(url, ca ? { ca } : {}, res => {
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

/** MinIO on `dataDir`; over HTTPS with `tls` (its --certs-dir, and the CA that signed it). */
export async function startMinio(
  binary: string,
  dataDir: string,
  logFile: string,
  tls?: { certsDir: string; caFile: string },
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
      ...(tls ? ['--certs-dir', tls.certsDir] : []),
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
  const endpoint = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const ca = tls ? fs.readFileSync(tls.caFile) : undefined;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`minio exited ${child.exitCode}; see ${logFile}`);
    if (await ready(`${endpoint}/minio/health/ready`, ca)) break;
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

/**
 * versitygw's posix backend on `root` (buckets are its subdirectories, objects plain files; an
 * object's ETag is its file's user.etag attribute), over plain HTTP on loopback, with credentials
 * kept beside `root` like MinIO's.
 */
export async function startVersitygw(
  binary: string,
  root: string,
  logFile: string,
): Promise<BenchS3> {
  const creds = credentialsFor(root);
  const port = await freePort();
  const region = 'us-east-1';
  const log = fs.openSync(logFile, 'a');
  // the secret goes in the environment (ROOT_SECRET_ACCESS_KEY), not in argv
  const child = spawn(
    binary,
    [
      '--port',
      `127.0.0.1:${port}`,
      '--region',
      region,
      '--quiet',
      'posix',
      root,
    ],
    {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        ROOT_ACCESS_KEY_ID: creds.accessKeyId,
        ROOT_SECRET_ACCESS_KEY: creds.secretAccessKey,
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
  const deadline = Date.now() + 60_000;
  // any HTTP answer (403 for an anonymous request) means it is serving
  const answers = () =>
    new Promise<boolean>(resolve => {
      const req = http.get(`${endpoint}/`, res => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
    });
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`versitygw exited ${child.exitCode}; see ${logFile}`);
    if (await answers()) break;
    if (Date.now() > deadline)
      throw new Error(`versitygw not ready after 60 s; see ${logFile}`);
    await new Promise(r => setTimeout(r, 200));
  }
  return {
    endpoint,
    port,
    region,
    dataDir: root,
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
