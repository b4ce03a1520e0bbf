/**
 * Hashing large files on worker threads, so that MD5 (about 0.4-0.7 GiB/s per core) does not
 * serialize with receiving and writing on the main thread (bench/README.md, "MD5 on worker threads").
 *
 * The worker (hashWorker.ts, bundled as `hash-worker.cjs` next to the job's bundle) never gets the
 * bytes through messages: it reads the temporary file as the main thread reports it written
 * (`advance(upTo)`), from the page cache, in order. Memory stays constant (one 1 MiB read buffer and
 * a 4 MiB WebAssembly memory per worker), and hashing overlaps the download. Only MD5, SHA-1 and
 * SHA-256 go to workers; CRCs are cheap enough in line. MD5s of files hashed at the same time share
 * SIMD lanes (md5/md5Wat.ts), up to four in one worker before another worker takes lane files.
 *
 * The workers belong to a HashWorkerPool, which a restore creates and closes (run.ts): nothing of
 * them outlives the restore. A pool starts its workers only when a first file is hashed.
 *
 * (Hashing a tar.gz stream on a worker from copies of its bytes was measured too: no faster, since
 * gunzip already keeps the second core busy, and about 100 MiB more resident memory.)
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerOutput } from './hashWorkerProtocol';

export type { WorkerAlgorithm } from './hashWorkerProtocol';
export type WorkerHash = WorkerOutput;

/** MD5s one run of the worker's SIMD code compresses side by side (md5/md5Wat.ts). */
const LANES = 4;

/** The worker's bundle, beside the job's own (build.mjs writes both). */
export const HASH_WORKER_FILE = 'hash-worker.cjs';

interface Pending {
  resolve(digests: string[]): void;
  reject(error: Error): void;
}

class HashWorker {
  readonly worker: Worker;
  private files = 0;
  /** Files whose MD5 runs in this worker's SIMD lanes. */
  laneFiles = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly failed = new Map<number, Error>();
  private broken?: Error;

  constructor(
    file: string,
    /** Its place in the pool (tests see which worker a file went to). */
    readonly index: number,
  ) {
    // node:worker_threads at the first worker: a restore that hashes no large file never loads it
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at first use
    const threads: typeof import('node:worker_threads') = require('node:worker_threads');
    this.worker = new threads.Worker(file);
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

  /** Files being hashed: while there is one, the worker keeps the process alive (it awaits it). */
  get active(): number {
    return this.files;
  }

  /** The worker crashed or exited: its files fail, and it takes no new ones. */
  get isBroken(): boolean {
    return this.broken !== undefined;
  }

  begin(): void {
    if (this.files++ === 0) this.worker.ref();
  }

  end(): void {
    if (--this.files === 0) this.worker.unref();
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

/**
 * The digests of one file, computed by a worker as the file is written. Call `advance(upTo)` when
 * bytes [0, upTo) are on the file (calls may repeat or go backwards; only progress counts),
 * then `digests(size)` once; `abort()` if the file is given up.
 */
export class FileHasher {
  private reported = 0;
  private done = false;
  private readonly lanes: boolean;

  /**
   * `lanes`: other large files are being hashed at the same time, so an MD5 may share the worker's
   * SIMD lanes with them (2.5x less CPU with four at once). A file hashed alone is better off with
   * OpenSSL's MD5 (about 1.3x faster than the lanes' scalar code), and cannot switch later.
   */
  constructor(
    private readonly worker: HashWorker,
    private readonly id: number,
    file: string,
    algorithms: WorkerHash[],
    options: { lanes?: boolean } = {},
  ) {
    this.lanes =
      options.lanes === true && algorithms.some(a => a.name === 'md5');
    this.worker.begin();
    if (this.lanes) this.worker.laneFiles++;
    this.worker.post({
      type: 'open',
      id: this.id,
      path: file,
      algorithms: algorithms.map(a => ({
        ...a,
        lanes: this.lanes && a.name === 'md5',
      })),
    });
  }

  /** Which of the pool's workers hashes this file. */
  get workerIndex(): number {
    return this.worker.index;
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
      this.release();
    }
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    this.release();
    this.worker.post({ type: 'abort', id: this.id });
    this.worker.forget(this.id);
  }

  private release(): void {
    if (this.lanes) this.worker.laneFiles--;
    this.worker.end();
  }
}

export interface HashWorkerPoolOptions {
  /** The worker's bundle; default hash-worker.cjs beside this bundle. */
  workerFile?: string;
  /** Workers at most; default the cores, from 1 to 4. */
  size?: number;
}

/** The hash workers of one restore; `close()` ends them. */
export class HashWorkerPool {
  private workers: HashWorker[] = [];
  private nextId = 1;
  /** Workers started so far (a crashed one is replaced by a new one with the next index). */
  private started = 0;
  private closed = false;
  private readonly file: string;
  private readonly size: number;
  /**
   * Large objects being downloaded now (download.ts counts them): while there is more than one,
   * their MD5s share the workers' SIMD lanes.
   */
  largeInFlight = 0;

  constructor(options: HashWorkerPoolOptions = {}) {
    // The bundle's own directory: esbuild keeps __dirname, and build.mjs puts the worker beside it.
    // eslint-disable-next-line no-restricted-syntax
    this.file = options.workerFile ?? path.join(__dirname, HASH_WORKER_FILE);
    this.size =
      options.size ?? Math.max(1, Math.min(4, availableParallelism()));
  }

  /** Hashes `file` as it is written (see FileHasher). */
  hash(
    file: string,
    algorithms: WorkerHash[],
    options: { lanes?: boolean } = {},
  ): FileHasher {
    if (this.closed) throw new Error('the hash workers were closed');
    return new FileHasher(
      this.pick(
        options.lanes === true && algorithms.some(a => a.name === 'md5'),
      ),
      this.nextId++,
      file,
      algorithms,
      options,
    );
  }

  /**
   * A lane MD5 goes to the worker whose lanes are fullest but not full: one run of md5x4 costs the
   * same for one lane as for four, so four lane files split over two workers would cost twice the
   * CPU of four in one (and every worker started costs its start-up). Anything else goes to a new
   * worker while the pool may grow, else to the least busy. A crashed worker leaves the pool.
   */
  private pick(lanes: boolean): HashWorker {
    this.workers = this.workers.filter(w => !w.isBroken);
    if (lanes) {
      const open = this.workers
        .filter(w => w.laneFiles > 0 && w.laneFiles < LANES)
        .sort((a, b) => b.laneFiles - a.laneFiles)[0];
      if (open) return open;
    }
    if (this.workers.length < this.size) {
      const w = new HashWorker(this.file, this.started++);
      this.workers.push(w);
      return w;
    }
    return this.workers.reduce((a, b) => (b.active < a.active ? b : a));
  }

  /** Stops the workers (the end of a restore). */
  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers;
    this.workers = [];
    await Promise.all(
      workers.map(w => w.worker.terminate().catch(() => undefined)),
    );
  }
}
