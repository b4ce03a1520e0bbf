/** The messages between fileHasher.ts (main thread) and hashWorker.ts (the worker): types only. */

/** Node crypto names of the algorithms a worker hashes. */
export type WorkerAlgorithm = 'md5' | 'sha1' | 'sha256';

export interface WorkerOutput {
  name: WorkerAlgorithm;
  encoding: 'hex' | 'base64';
}

export type ToWorker =
  | {
      type: 'open';
      id: number;
      path: string;
      /** `lanes`: an MD5 computed in the WebAssembly module's SIMD lanes. */
      algorithms: Array<WorkerOutput & { lanes: boolean }>;
    }
  | { type: 'advance'; id: number; upTo: number }
  | { type: 'finish'; id: number; size: number }
  | { type: 'abort'; id: number };

export type FromWorker =
  | { type: 'digest'; id: number; digests: string[] }
  | { type: 'error'; id: number; message: string };
