/**
 * Hashing large files on worker threads, so that MD5 (about 0.4-0.7 GiB/s per core) does not
 * serialize with receiving and writing on the main thread (bench/README.md, "MD5 on worker threads").
 *
 * The worker never gets the bytes through messages: it opens the temporary file itself and reads
 * what the main thread reports as written (`advance(upTo)`), from the page cache, in order. Memory
 * stays constant (one 1 MiB read buffer and a 4 MiB WebAssembly memory per worker), and hashing
 * overlaps the download. Only MD5, SHA-1 and SHA-256 go to workers; CRCs are cheap enough in line.
 * MD5s of files hashed at the same time share SIMD lanes (md5/md5Wat.ts).
 *
 * (Hashing a tar.gz stream on a worker from copies of its bytes was measured too: no faster, since
 * gunzip already keeps the second core busy, and about 100 MiB more resident memory.)
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { MD5_WASM_BASE64 } from './md5/md5Wasm';
import { COUNTS_AT, LANE_BYTES, LANES_AT } from './md5/md5Wat';

/** Node crypto names of the algorithms a worker hashes. */
export type WorkerAlgorithm = 'md5' | 'sha1' | 'sha256';

export interface WorkerHash {
  name: WorkerAlgorithm;
  encoding: 'hex' | 'base64';
}

type ToWorker =
  | {
      type: 'open';
      id: number;
      path: string;
      algorithms: Array<WorkerHash & { lanes: boolean }>;
    }
  | { type: 'advance'; id: number; upTo: number }
  | { type: 'finish'; id: number; size: number }
  | { type: 'abort'; id: number };

type FromWorker =
  | { type: 'digest'; id: number; digests: string[] }
  | { type: 'error'; id: number; message: string };

/**
 * The worker's code: plain JavaScript with Node built-ins only, so that it runs from the bundle.
 *
 * Messages only record how far each file may be read; the hashing runs in `pump`, after the queued
 * messages, so that several files have bytes waiting at once. An MD5 marked `lanes` is computed by
 * the WebAssembly module of md5/md5Wat.ts: up to four such files are read into its four lanes and
 * compressed together (md5x4), or one alone in scalar code (md5x1). Its state is four words per
 * file, kept here between runs. Other algorithms go through node:crypto, fed from the same reads.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const LANE_BYTES = ${LANE_BYTES}, LANES_AT = ${LANES_AT}, COUNTS_AT = ${COUNTS_AT};
const LANE_BLOCKS = LANE_BYTES / 64;
const IV = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476];
const md5 = new WebAssembly.Instance(new WebAssembly.Module(workerData.md5Wasm)).exports;
const memory = Buffer.from(md5.memory.buffer);
const words = new Int32Array(md5.memory.buffer, 0, 20);
const plain = Buffer.allocUnsafe(LANE_BYTES);
const jobs = new Map();
let scheduled = false;
function close(job) {
  jobs.delete(job.id);
  try { fs.closeSync(job.fd); } catch {}
}
function reportError(id, error) {
  parentPort.postMessage({ type: 'error', id, message: String(error && error.message || error) });
}
function fail(job, error) {
  close(job);
  reportError(job.id, error);
}
function readAt(job, target, offset, length) {
  for (let done = 0; done < length; ) {
    const n = fs.readSync(job.fd, target, offset + done, length - done, job.at + done);
    if (n <= 0) throw new Error('the file ended at ' + (job.at + done) + ' before ' + job.upTo);
    done += n;
  }
}
function consume(job, view) {
  for (const h of job.node) h.update(view);
  job.at += view.length;
}
function laneBlocks(job) {
  return Math.min(LANE_BLOCKS, Math.floor((job.upTo - job.at) / 64));
}
function loadState(lane, state) {
  for (let w = 0; w < 4; w++) words[4 * w + lane] = state[w];
}
function saveState(lane, state) {
  for (let w = 0; w < 4; w++) state[w] = words[4 * w + lane];
}
// A run of the lanes costs the same however many of them hold data, so the lanes wait until each
// of the first four lane files (fewer, if fewer are open) has a whole lane waiting, unless a file
// has been finished: then its rest runs now (so a stalled download holds back nobody's end).
// Waiting costs nothing: every write on the main thread sends another advance, and what waits is
// in the page cache. (Running whenever one file had fallen behind was measured: a ranged download's
// hashable prefix grows in jumps of a part, so most runs then had one lane and cost 4x.)
function lanesWorthRunning(ready) {
  let open = 0;
  for (const job of jobs.values()) if (job.lane) open++;
  let full = 0;
  for (const job of ready) {
    if (job.size !== undefined) return true;
    if (job.upTo - job.at >= LANE_BYTES) full++;
  }
  return full >= Math.min(4, open);
}
// Up to four lane files with whole blocks waiting, the fullest first. A run costs the same for any
// number of lanes, so a lane with fewer blocks than the fullest rides along for free.
function runLanes(ready) {
  ready.sort((x, y) => (y.upTo - y.at) - (x.upTo - x.at));
  const taken = [];
  for (const job of ready) {
    if (taken.length === 4) break;
    const blocks = laneBlocks(job);
    const at = LANES_AT + taken.length * LANE_BYTES;
    try { readAt(job, memory, at, blocks * 64); } catch (error) { fail(job, error); continue; }
    taken.push({ job, blocks, at });
  }
  if (taken.length === 0) return;
  for (let lane = 0; lane < 4; lane++) {
    const t = taken[lane];
    words[COUNTS_AT / 4 + lane] = t ? t.blocks : 0;
    if (t) loadState(lane, t.job.lane);
  }
  if (taken.length === 1) md5.md5x1(taken[0].blocks);
  else md5.md5x4(taken[0].blocks);
  taken.forEach((t, lane) => {
    saveState(lane, t.job.lane);
    consume(t.job, memory.subarray(t.at, t.at + t.blocks * 64));
  });
}
// The last partial block and MD5's padding: 0x80, zeros, the length in bits (64-bit little-endian).
function finishLane(job) {
  const tail = job.size - job.at;
  readAt(job, memory, LANES_AT, tail);
  consume(job, memory.subarray(LANES_AT, LANES_AT + tail));
  const blocks = tail < 56 ? 1 : 2;
  memory.fill(0, LANES_AT + tail, LANES_AT + blocks * 64);
  memory[LANES_AT + tail] = 0x80;
  memory.writeBigUInt64LE(BigInt(job.size) * 8n, LANES_AT + blocks * 64 - 8);
  loadState(0, job.lane);
  md5.md5x1(blocks);
  saveState(0, job.lane);
}
function digestOf(job, output) {
  if (output.hash) return output.hash.digest(output.encoding);
  const out = Buffer.allocUnsafe(16);
  for (let w = 0; w < 4; w++) out.writeInt32LE(job.lane[w], 4 * w);
  return out.toString(output.encoding);
}
function finish(job) {
  if (job.lane) finishLane(job);
  close(job);
  parentPort.postMessage({ type: 'digest', id: job.id, digests: job.outputs.map(o => digestOf(job, o)) });
}
// One round: up to 1 MiB of each plain file, one run of the lanes; then the next round after the
// messages that came meanwhile, so that lanes can fill up.
function pump() {
  scheduled = false;
  let busy = false;
  const ready = [];
  for (const job of [...jobs.values()]) {
    try {
      if (job.lane) {
        if (job.upTo - job.at >= 64) ready.push(job);
        else if (job.size !== undefined) finish(job);
      } else if (job.at < job.upTo) {
        const n = Math.min(LANE_BYTES, job.upTo - job.at);
        readAt(job, plain, 0, n);
        consume(job, plain.subarray(0, n));
        busy = true;
      } else if (job.size !== undefined) finish(job);
    } catch (error) {
      fail(job, error);
    }
  }
  if (ready.length > 0 && lanesWorthRunning(ready)) {
    runLanes(ready);
    busy = true;
  }
  if (busy) schedule();
}
function schedule() {
  if (!scheduled) {
    scheduled = true;
    setImmediate(pump);
  }
}
parentPort.on('message', m => {
  if (m.type === 'open') {
    try {
      const outputs = m.algorithms.map(a => ({ encoding: a.encoding, hash: a.lanes ? undefined : createHash(a.name) }));
      jobs.set(m.id, {
        id: m.id, fd: fs.openSync(m.path, 'r'), at: 0, upTo: 0, size: undefined, outputs,
        node: outputs.filter(o => o.hash).map(o => o.hash),
        lane: outputs.some(o => !o.hash) ? Int32Array.from(IV) : undefined,
      });
    } catch (error) {
      reportError(m.id, error);
    }
    return;
  }
  const job = jobs.get(m.id);
  if (!job) return;
  if (m.type === 'abort') return close(job);
  if (m.type === 'advance') job.upTo = Math.max(job.upTo, m.upTo);
  else if (m.type === 'finish') {
    if (m.size < job.at) return fail(job, new Error('hashed ' + job.at + ' bytes of a file of ' + m.size));
    job.size = m.size;
    job.upTo = m.size;
  }
  schedule();
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
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { md5Wasm: md5Wasm() },
    });
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

let wasm: Buffer | undefined;
function md5Wasm(): Buffer {
  wasm ??= Buffer.from(MD5_WASM_BASE64, 'base64');
  return wasm;
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

  /**
   * `lanes`: other large files are being hashed at the same time, so an MD5 may share the worker's
   * SIMD lanes with them (2.5x less CPU with four at once). A file hashed alone is better off with
   * OpenSSL's MD5 (about 1.3x faster than the lanes' scalar code), and cannot switch later.
   */
  constructor(
    path: string,
    algorithms: WorkerHash[],
    options: { lanes?: boolean } = {},
  ) {
    this.worker = pickWorker();
    this.worker.active++;
    this.worker.post({
      type: 'open',
      id: this.id,
      path,
      algorithms: algorithms.map(a => ({
        ...a,
        lanes: options.lanes === true && a.name === 'md5',
      })),
    });
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
