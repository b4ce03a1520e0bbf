/**
 * The job's scratch directory, for what a restore must remember but need not hold in memory: the
 * path claims and the resume records (SQLite files), and spools (JSON lines written once and read
 * back as a stream: archived objects waiting for a thaw, directories to make later).
 *
 * It lives in the volume's `.kube-restore/` (`scratch` or `scratch-<shard>`), not in /tmp: the
 * pod's /tmp is a small emptyDir, while the volume is sized for the data. An attempt removes what a
 * killed attempt left, and the directory is removed when the restore ends.
 */
import {
  closeSync,
  constants as fsConstants,
  openSync,
  promises as fsp,
} from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY } =
  fsConstants;

export class Scratch {
  private serial = 0;
  private readonly closers: Array<() => void> = [];

  private constructor(
    readonly dir: string,
    private fd: number | undefined,
  ) {}

  /**
   * Makes `dir` afresh (removing what a killed attempt left there) and holds it open: its files are
   * named through the descriptor (/proc/self/fd/N/name), so a writer of the volume who renames the
   * directory and plants a link in its place does not redirect them.
   */
  static async open(dir: string): Promise<Scratch> {
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.mkdir(dir, { mode: 0o700 });
    // A plain descriptor (not a FileHandle, which garbage collection would close), held for the
    // scratch directory's lifetime and closed by remove().
    const fd = openSync(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    return new Scratch(dir, fd);
  }

  /** A fresh file name in the directory, reached through its descriptor. */
  file(stem: string): string {
    if (this.fd === undefined)
      throw new Error(`scratch ${this.dir} is removed`);
    return path.join(`/proc/self/fd/${this.fd}`, `${stem}-${++this.serial}`);
  }

  /** Runs `close` (of a database in the directory) before the directory is removed. */
  onRemove(close: (() => void) | undefined): void {
    if (close) this.closers.push(close);
  }

  async remove(): Promise<void> {
    for (const close of this.closers.splice(0)) {
      try {
        close();
      } catch {
        // closing is best effort: the directory goes anyway
      }
    }
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    await fsp.rm(this.dir, { recursive: true, force: true });
  }
}

/** Records written once, as JSON lines, then read back in order. */
export class Spool<T> {
  private count = 0;
  private stream?: Writable;
  private closed?: Promise<void>;

  private constructor(
    readonly file: string,
    handle: FileHandle,
  ) {
    this.stream = handle.createWriteStream();
  }

  static async create<T>(file: string): Promise<Spool<T>> {
    const handle = await fsp.open(
      file,
      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
      0o600,
    );
    return new Spool<T>(file, handle);
  }

  get size(): number {
    return this.count;
  }

  /** Appends a record; resolves at once unless the write buffer is full. */
  async append(record: T): Promise<void> {
    if (!this.stream) throw new Error(`spool ${this.file} is closed`);
    this.count++;
    if (!this.stream.write(`${JSON.stringify(record)}\n`)) {
      const stream = this.stream;
      await new Promise<void>((resolve, reject) => {
        const done = (error?: Error) => {
          stream.off('drain', done);
          stream.off('error', done);
          if (error) reject(error);
          else resolve();
        };
        stream.once('drain', done);
        stream.once('error', done);
      });
    }
  }

  /** Flushes and closes the writer (once); reading needs it. */
  finish(): Promise<void> {
    this.closed ??= (async () => {
      const stream = this.stream!;
      this.stream = undefined;
      // The stream closes the handle itself (autoClose): a FileHandle's own close() would wait
      // for the stream to let go of it.
      await new Promise<void>((resolve, reject) => {
        stream.once('error', reject);
        stream.once('close', () => resolve());
        stream.end();
      });
    })();
    return this.closed;
  }

  /** Removes the file (after finishing it). */
  async remove(): Promise<void> {
    await this.finish().catch(() => undefined);
    await fsp.rm(this.file, { force: true });
  }

  /** Every record, in the order appended. */
  async *read(): AsyncGenerator<T> {
    await this.finish();
    for await (const line of readLines(this.file))
      if (line) yield JSON.parse(line) as T;
  }
}

/**
 * The lines of a file that is never reached through a link, read as a stream. Stopping early (a
 * `return` or a throw in the loop) closes the file.
 */
export async function* readLines(file: string): AsyncGenerator<string> {
  const fh = await fsp.open(file, O_RDONLY | O_NOFOLLOW);
  // autoClose: the stream closes the handle when it ends or is destroyed.
  const input = fh.createReadStream({ encoding: 'utf8' });
  try {
    yield* createInterface({ input, crlfDelay: Infinity });
  } finally {
    input.destroy();
  }
}
