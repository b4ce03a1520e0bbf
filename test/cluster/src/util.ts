/*
 * Small helpers shared by the harness modules.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { ManagedProcess } from './processes';

function canListen(port: number): Promise<number | undefined> {
  return new Promise(resolve => {
    const s = net.createServer();
    s.unref();
    s.on('error', () => resolve(undefined));
    s.listen(port, '127.0.0.1', () => {
      const bound = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(bound));
    });
  });
}

/** The kernel's range for ephemeral ports (the ports outgoing connections take). */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = fs
      .readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low > 0 && high >= low) return [low, high];
  } catch {
    // not Linux: fall through
  }
  return [32768, 60999];
}

/**
 * A port to give a server. Not from the ephemeral range: a port the kernel handed out and took back
 * is soon some outgoing connection's again (seen in CI: MinIO "port already in use" while parallel
 * suites were busy), so this draws below it and checks that it can be bound, falling back to the
 * kernel's choice.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  const floor = 10000;
  if (low - floor >= 1000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const candidate = floor + Math.floor(Math.random() * (low - floor));
      const port = await canListen(candidate);
      if (port !== undefined) return port;
    }
  }
  const port = await canListen(0);
  if (port === undefined) throw new Error('no free port on 127.0.0.1');
  return port;
}

export async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freePort());
  return [...out];
}

export function sleep(ms: number) {
  return new Promise(r => setTimeout(r, ms));
}

export function tail(file: string, bytes = 4000): string {
  try {
    const b = fs.readFileSync(file);
    return b.subarray(Math.max(0, b.length - bytes)).toString('utf8');
  } catch {
    return '';
  }
}

export function httpGet(
  url: string,
  opts: https.RequestOptions = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.get(url, { ...opts, timeout: 2000 }, res => {
      let body = '';
      res.on('data', c => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export async function waitFor(
  what: string,
  proc: ManagedProcess | undefined,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr = '';
  while (Date.now() < deadline) {
    if (proc && proc.exitStatus !== undefined) {
      throw new Error(
        `${what} exited (${proc.exitStatus}) while starting; log ${proc.logFile}:\n${tail(proc.logFile)}`,
      );
    }
    try {
      if (await check()) return;
    } catch (e) {
      lastErr = (e as Error).message;
    }
    await sleep(100);
  }
  throw new Error(
    `${what} not ready after ${timeoutMs / 1000}s${lastErr ? ` (${lastErr})` : ''}${proc ? `; log ${proc.logFile}:\n${tail(proc.logFile)}` : ''}`,
  );
}
