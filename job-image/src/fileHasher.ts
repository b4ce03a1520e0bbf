/**
 * Hashing large files on worker threads, so that MD5 (about 0.4-0.7 GiB/s per core) does not
 * serialize with receiving and writing on the main thread (see PERFORMANCE.md).
 *
 * The worker never gets the bytes through messages: it opens the temporary file itself and reads
 * what the main thread reports as written (`advance(upTo)`), from the page cache, in order. Memory
 * stays constant (one 1 MiB read buffer per worker), and hashing overlaps the download. Only the
 * native algorithms (MD5, SHA-1, SHA-256) go to workers; CRCs are cheap enough in line.
 *
 * (Hashing a tar.gz stream on a worker from copies of its bytes was measured too: no faster, since
 * gunzip already keeps the second core busy, and about 100 MiB more resident memory.)
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Node crypto names of the algorithms a worker hashes. */
export type WorkerAlgorithm = 'md5' | 'sha1' | 'sha256';

type ToWorker =
  | {
      type: 'open';
      id: number;
      path: string;
      algorithms: Array<{ name: WorkerAlgorithm; encoding: 'hex' | 'base64' }>;
    }
  | { type: 'advance'; id: number; upTo: number }
  | { type: 'finish'; id: number; size: number }
  | { type: 'abort'; id: number };

type FromWorker =
  | { type: 'digest'; id: number; digests: string[] }
  | { type: 'error'; id: number; message: string };

/** The worker's code: plain JavaScript with Node built-ins only, so that it runs from the bundle. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const buffer = Buffer.allocUnsafe(1024 * 1024);
const jobs = new Map();
function fail(id, error) {
  const job = jobs.get(id);
  if (job) { try { fs.closeSync(job.fd); } catch {} jobs.delete(id); }
  parentPort.postMessage({ type: 'error', id, message: String(error && error.message || error) });
}
function advance(job, upTo) {
  while (job.at < upTo) {
    const n = fs.readSync(job.fd, buffer, 0, Math.min(buffer.length, upTo - job.at), job.at);
    if (n <= 0) throw new Error('the file ended at ' + job.at + ' before ' + upTo);
    const view = buffer.subarray(0, n);
    for (const h of job.hashes) h.update(view);
    job.at += n;
  }
}
parentPort.on('message', m => {
  try {
    if (m.type === 'open') {
      jobs.set(m.id, { fd: fs.openSync(m.path, 'r'), at: 0, hashes: m.algorithms.map(a => createHash(a.name)), encodings: m.algorithms.map(a => a.encoding) });
      return;
    }
    const job = jobs.get(m.id);
    if (!job) return;
    if (m.type === 'advance') advance(job, m.upTo);
    else if (m.type === 'finish') {
      advance(job, m.size);
      fs.closeSync(job.fd);
      jobs.delete(m.id);
      parentPort.postMessage({ type: 'digest', id: m.id, digests: job.hashes.map((h, i) => h.digest(job.encodings[i])) });
    } else if (m.type === 'abort') {
      fs.closeSync(job.fd);
      jobs.delete(m.id);
    }
  } catch (error) {
    fail(m.id, error);
  }
});
`;

interface Pending {
  resolve(digests: string[]): void;
  reject(error: Error): void;
}

class HashWorker {
  readonly worker: Worker;
  active = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly failed = new Map<number, Error>();
  private broken?: Error;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    this.worker.unref();
    this.worker.on('message', (m: FromWorker) => {
      const p = this.pending.get(m.id);
      const error =
        m.type === 'error'
          ? new Error(`hashing failed: ${m.message}`)
          : undefined;
      if (!p) {
        // an error before finish() asked for the digest: keep it for finish()
        if (error) this.failed.set(m.id, error);
        return;
      }
      this.pending.delete(m.id);
      if (error) p.reject(error);
      else p.resolve((m as { digests: string[] }).digests);
    });
    this.worker.on('error', error => this.breakAll(error));
    this.worker.on('exit', code =>
      this.breakAll(new Error(`the hash worker exited (${code})`)),
    );
  }

  private breakAll(error: Error): void {
    this.broken ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  post(message: ToWorker): void {
    if (!this.broken) this.worker.postMessage(message);
  }

  result(id: number): Promise<string[]> {
    const failed = this.failed.get(id);
    if (failed) {
      this.failed.delete(id);
      return Promise.reject(failed);
    }
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) =>
      this.pending.set(id, { resolve, reject }),
    );
  }

  forget(id: number): void {
    this.failed.delete(id);
  }
}

let pool: HashWorker[] = [];
let nextId = 1;

function pickWorker(): HashWorker {
  const size = Math.max(1, Math.min(4, availableParallelism()));
  if (pool.length < size) {
    const w = new HashWorker();
    pool.push(w);
    return w;
  }
  return pool.reduce((a, b) => (b.active < a.active ? b : a));
}

/** Stops the workers (the end of a restore); new hashers start new ones. */
export async function stopHashWorkers(): Promise<void> {
  const workers = pool;
  pool = [];
  await Promise.all(
    workers.map(w => w.worker.terminate().catch(() => undefined)),
  );
}

/**
 * The digests of one file, computed by a worker as the file is written. Call `advance(upTo)` when
 * bytes [0, upTo) are on the file (calls may repeat or go backwards; only progress counts),
 * then `digests(size)` once; `abort()` if the file is given up.
 */
export class FileHasher {
  private readonly id = nextId++;
  private readonly worker: HashWorker;
  private reported = 0;
  private done = false;

  constructor(
    path: string,
    algorithms: Array<{ name: WorkerAlgorithm; encoding: 'hex' | 'base64' }>,
  ) {
    this.worker = pickWorker();
    this.worker.active++;
    this.worker.post({ type: 'open', id: this.id, path, algorithms });
  }

  advance(upTo: number): void {
    if (this.done || upTo <= this.reported) return;
    this.reported = upTo;
    this.worker.post({ type: 'advance', id: this.id, upTo });
  }

  /** The digests (in the order of the algorithms) of the first `size` bytes. */
  async digests(size: number): Promise<string[]> {
    if (this.done) throw new Error('FileHasher: digests() after the end');
    this.done = true;
    this.worker.post({ type: 'finish', id: this.id, size });
    try {
      return await this.worker.result(this.id);
    } finally {
      this.worker.active--;
    }
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    this.worker.active--;
    this.worker.post({ type: 'abort', id: this.id });
    this.worker.forget(this.id);
  }
}
