/**
 * The hash worker: a worker thread that hashes files while the main thread writes them
 * (fileHasher.ts). It is its own bundle (`hash-worker.cjs` next to `restore-job.cjs`), started by
 * the run's HashWorkerPool; it uses Node built-ins and the MD5 WebAssembly module only.
 *
 * It never gets the bytes through messages: it opens the temporary file itself and reads what the
 * main thread reports as written (`advance`), from the page cache, in order. Messages only record
 * how far each file may be read; the hashing runs in `pump`, after the queued messages, so that
 * several files have bytes waiting at once. An MD5 marked `lanes` is computed by the WebAssembly
 * module of md5/md5Wat.ts: up to four such files are read into its four lanes and compressed
 * together (md5x4), or one alone in scalar code (md5x1). Its state is four words per file, kept
 * here between runs. Other algorithms go through node:crypto, fed from the same reads.
 */
import { createHash, Hash } from 'node:crypto';
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerOutput } from './hashWorkerProtocol';
import { MD5_WASM_BASE64 } from './md5/md5Wasm';
import { COUNTS_AT, LANE_BYTES, LANES_AT } from './md5/md5Wat';

interface Md5Exports {
  memory: WebAssembly.Memory;
  md5x4(blocks: number): void;
  md5x1(blocks: number): void;
}

interface Output {
  encoding: WorkerOutput['encoding'];
  /** Absent for an MD5 computed in the lanes. */
  hash?: Hash;
}

interface Job {
  id: number;
  fd: number;
  /** Bytes hashed so far. */
  at: number;
  /** Bytes the main thread says are on the file. */
  upTo: number;
  /** Set by `finish`: the file's final size. */
  size?: number;
  outputs: Output[];
  node: Hash[];
  /** The lane MD5's state (four words), when one output is computed in the lanes. */
  lane?: Int32Array;
}

interface Taken {
  job: Job;
  blocks: number;
  at: number;
}

const LANE_BLOCKS = LANE_BYTES / 64;
const IV = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476];

const port = parentPort;
if (!port) throw new Error('hash-worker.cjs runs only as a worker thread');

const md5 = new WebAssembly.Instance(
  new WebAssembly.Module(Buffer.from(MD5_WASM_BASE64, 'base64')),
).exports as unknown as Md5Exports;
const memory = Buffer.from(md5.memory.buffer);
const words = new Int32Array(md5.memory.buffer, 0, 20);
const plain = Buffer.allocUnsafe(LANE_BYTES);
const jobs = new Map<number, Job>();
let scheduled = false;

function post(message: FromWorker): void {
  port!.postMessage(message);
}

function close(job: Job): void {
  jobs.delete(job.id);
  try {
    fs.closeSync(job.fd);
  } catch {
    // already closed
  }
}

function reportError(id: number, error: unknown): void {
  post({
    type: 'error',
    id,
    message: String((error as Error)?.message ?? error),
  });
}

function fail(job: Job, error: unknown): void {
  close(job);
  reportError(job.id, error);
}

function readAt(
  job: Job,
  target: Buffer,
  offset: number,
  length: number,
): void {
  for (let done = 0; done < length;) {
    const n = fs.readSync(
      job.fd,
      target,
      offset + done,
      length - done,
      job.at + done,
    );
    if (n <= 0)
      throw new Error(`the file ended at ${job.at + done} before ${job.upTo}`);
    done += n;
  }
}

function consume(job: Job, view: Buffer): void {
  for (const h of job.node) h.update(view);
  job.at += view.length;
}

function laneBlocks(job: Job): number {
  return Math.min(LANE_BLOCKS, Math.floor((job.upTo - job.at) / 64));
}

function loadState(lane: number, state: Int32Array): void {
  for (let w = 0; w < 4; w++) words[4 * w + lane] = state[w];
}

function saveState(lane: number, state: Int32Array): void {
  for (let w = 0; w < 4; w++) state[w] = words[4 * w + lane];
}

/**
 * A run of the lanes costs the same however many of them hold data, so the lanes wait until each
 * of the first four lane files (fewer, if fewer are open) has a whole lane waiting, unless a file
 * has been finished: then its rest runs now (so a stalled download holds back nobody's end).
 * Waiting costs nothing: every write on the main thread sends another advance, and what waits is
 * in the page cache. (Running whenever one file had fallen behind was measured: a ranged
 * download's hashable prefix grows in jumps of a part, so most runs then had one lane and cost 4x.)
 */
function lanesWorthRunning(ready: Job[]): boolean {
  let open = 0;
  for (const job of jobs.values()) if (job.lane) open++;
  let full = 0;
  for (const job of ready) {
    if (job.size !== undefined) return true;
    if (job.upTo - job.at >= LANE_BYTES) full++;
  }
  return full >= Math.min(4, open);
}

/**
 * Up to four lane files with whole blocks waiting, the fullest first. A run costs the same for any
 * number of lanes, so a lane with fewer blocks than the fullest rides along for free.
 */
function runLanes(ready: Job[]): void {
  ready.sort((x, y) => y.upTo - y.at - (x.upTo - x.at));
  const taken: Taken[] = [];
  for (const job of ready) {
    if (taken.length === 4) break;
    const blocks = laneBlocks(job);
    const at = LANES_AT + taken.length * LANE_BYTES;
    try {
      readAt(job, memory, at, blocks * 64);
    } catch (error) {
      fail(job, error);
      continue;
    }
    taken.push({ job, blocks, at });
  }
  if (taken.length === 0) return;
  for (let lane = 0; lane < 4; lane++) {
    const t = taken[lane];
    words[COUNTS_AT / 4 + lane] = t ? t.blocks : 0;
    if (t) loadState(lane, t.job.lane!);
  }
  if (taken.length === 1) md5.md5x1(taken[0].blocks);
  else md5.md5x4(taken[0].blocks);
  taken.forEach((t, lane) => {
    saveState(lane, t.job.lane!);
    consume(t.job, memory.subarray(t.at, t.at + t.blocks * 64));
  });
}

/** The last partial block and MD5's padding: 0x80, zeros, the length in bits (64-bit little-endian). */
function finishLane(job: Job, lane: Int32Array, size: number): void {
  const tail = size - job.at;
  readAt(job, memory, LANES_AT, tail);
  consume(job, memory.subarray(LANES_AT, LANES_AT + tail));
  const blocks = tail < 56 ? 1 : 2;
  memory.fill(0, LANES_AT + tail, LANES_AT + blocks * 64);
  memory[LANES_AT + tail] = 0x80;
  memory.writeBigUInt64LE(BigInt(size) * 8n, LANES_AT + blocks * 64 - 8);
  loadState(0, lane);
  md5.md5x1(blocks);
  saveState(0, lane);
}

function digestOf(job: Job, output: Output): string {
  if (output.hash) return output.hash.digest(output.encoding);
  const out = Buffer.allocUnsafe(16);
  for (let w = 0; w < 4; w++) out.writeInt32LE(job.lane![w], 4 * w);
  return out.toString(output.encoding);
}

function finish(job: Job, size: number): void {
  if (job.lane) finishLane(job, job.lane, size);
  close(job);
  post({
    type: 'digest',
    id: job.id,
    digests: job.outputs.map(o => digestOf(job, o)),
  });
}

/**
 * One round: up to 1 MiB of each plain file, one run of the lanes; then the next round after the
 * messages that came meanwhile, so that lanes can fill up.
 */
function pump(): void {
  scheduled = false;
  let busy = false;
  const ready: Job[] = [];
  for (const job of [...jobs.values()]) {
    try {
      if (job.lane) {
        if (job.upTo - job.at >= 64) ready.push(job);
        else if (job.size !== undefined) finish(job, job.size);
      } else if (job.at < job.upTo) {
        const n = Math.min(LANE_BYTES, job.upTo - job.at);
        readAt(job, plain, 0, n);
        consume(job, plain.subarray(0, n));
        busy = true;
      } else if (job.size !== undefined) finish(job, job.size);
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

function schedule(): void {
  if (!scheduled) {
    scheduled = true;
    setImmediate(pump);
  }
}

function openJob(m: Extract<ToWorker, { type: 'open' }>): void {
  try {
    const outputs: Output[] = m.algorithms.map(a => ({
      encoding: a.encoding,
      hash: a.lanes ? undefined : createHash(a.name),
    }));
    jobs.set(m.id, {
      id: m.id,
      fd: fs.openSync(m.path, 'r'),
      at: 0,
      upTo: 0,
      outputs,
      node: outputs.flatMap(o => (o.hash ? [o.hash] : [])),
      lane: outputs.some(o => !o.hash) ? Int32Array.from(IV) : undefined,
    });
  } catch (error) {
    reportError(m.id, error);
  }
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'open') {
    openJob(m);
    return;
  }
  const job = jobs.get(m.id);
  if (!job) return;
  if (m.type === 'abort') {
    close(job);
    return;
  }
  if (m.type === 'advance') job.upTo = Math.max(job.upTo, m.upTo);
  else {
    if (m.size < job.at) {
      fail(job, new Error(`hashed ${job.at} bytes of a file of ${m.size}`));
      return;
    }
    job.size = m.size;
    job.upTo = m.size;
  }
  schedule();
});
