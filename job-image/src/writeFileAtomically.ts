/**
 * Files get their final name only when complete and verified: data goes to `.kr-tmp-<random>` in
 * the final directory (opened O_EXCL|O_NOFOLLOW), and is renamed over the final name at the end.
 *
 * fsync policy: a file's data is fdatasync'd before its rename only when it is large
 * (FSYNC_MIN_BYTES), where the cost is amortised. Small files are not synced one by one: a pod
 * restart keeps the page cache, and after a node crash the resume check (size recorded in the
 * manifest against the file on disk) re-fetches files that lost their data. The manifest is synced.
 * Large files are also flushed as they are written (write-behind, below), so the sync before the
 * rename has only the tail left.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { renameInDirectory } from './dirOps';
import { assertOpenedInside, TEMP_OPEN_FLAGS } from './paths';
import {
  writeSmallCreatedAhead,
  writeSmallInOneTrip,
  writeSmallSync,
} from './smallBodyWrites';
import type { WriteFileIn } from './smallFileWriter';
import {
  FileAttributes,
  temporaryNameIn,
  trackTemporary,
  untrackTemporary,
} from './temporaries';

export const WRITE_BATCH_BYTES = 1024 * 1024;
/** Files at least this large are fdatasync'd before their rename (unless a write says otherwise). */
export const FSYNC_MIN_BYTES = 64 * 1024 * 1024;

/**
 * Write-behind: once a temporary file has this many bytes written since its last flush, an
 * fdatasync of it is started in the background (one at a time in the process, so that it never
 * holds more than one of the thread pool's four threads), so the disk writes a large file while
 * the rest of it is still downloading instead of all at once at its commit (measured on (a) in
 * bench/README.md). Off for a file created without it (a write that never syncs).
 */
export const WRITE_BEHIND_BYTES = 32 * 1024 * 1024;
let writeBehindBusy = false;

export class TempFile {
  private closed = false;
  private unflushed = 0;
  private flushing: Promise<void> | undefined;
  private flushError: unknown;
  readonly path: string;
  private constructor(
    tempPath: string,
    readonly finalPath: string,
    private readonly handle: FileHandle,
    private writeBehind: boolean,
  ) {
    this.path = tempPath;
  }

  /** `tag`: see temporaryNameIn; `writeBehind: false` for a file that will not be synced. */
  static async create(
    finalPath: string,
    mode = 0o644,
    options: { tag?: string; writeBehind?: boolean } = {},
  ): Promise<TempFile> {
    const dir = path.dirname(finalPath);
    for (let attempt = 0; ; attempt++) {
      const tmp = temporaryNameIn(dir, options.tag);
      try {
        const handle = await fsp.open(tmp, TEMP_OPEN_FLAGS, mode);
        try {
          assertOpenedInside(handle.fd, finalPath);
        } catch (error) {
          await handle.close();
          await fsp.rm(tmp, { force: true });
          throw error;
        }
        trackTemporary(tmp);
        return new TempFile(
          tmp,
          finalPath,
          handle,
          options.writeBehind ?? true,
        );
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 5)
          throw error;
      }
    }
  }

  get fd(): FileHandle {
    return this.handle;
  }

  async writeAt(buffers: Buffer[], position: number): Promise<void> {
    let offset = position;
    let rest = buffers;
    while (rest.length > 0) {
      const { bytesWritten } = await this.handle.writev(rest, offset);
      offset += bytesWritten;
      this.unflushed += bytesWritten;
      rest = dropBytes(rest, bytesWritten);
    }
    if (
      this.unflushed >= WRITE_BEHIND_BYTES &&
      this.writeBehind &&
      !writeBehindBusy &&
      !this.closed
    )
      this.startFlush();
  }

  private startFlush(): void {
    writeBehindBusy = true;
    this.unflushed = 0;
    const flushing: Promise<void> = this.handle
      .datasync()
      .catch((error: unknown) => {
        const code = (error as NodeJS.ErrnoException).code;
        // A filesystem without fdatasync: no write-behind for this file (a commit's fsync, if
        // asked for, reports it). Any other error is kept for the commit: after a failed
        // fdatasync Linux forgets the error, so a later one may succeed although pages were lost.
        if (code === 'EINVAL' || code === 'ENOTSUP') this.writeBehind = false;
        else this.flushError ??= error;
      })
      .finally(() => {
        writeBehindBusy = false;
        if (this.flushing === flushing) this.flushing = undefined;
      });
    this.flushing = flushing;
  }

  /** Sets attributes, syncs when asked, closes and renames over the final name. */
  async commit(
    attributes: FileAttributes,
    options: { fsync?: boolean } = {},
  ): Promise<void> {
    if (attributes.mode !== undefined) await this.handle.chmod(attributes.mode);
    if (attributes.uid !== undefined || attributes.gid !== undefined) {
      await this.handle.chown(attributes.uid ?? -1, attributes.gid ?? -1);
    }
    if (attributes.mtime)
      await this.handle.utimes(attributes.mtime, attributes.mtime);
    await this.flushing;
    if (this.flushError !== undefined) throw this.flushError;
    if (options.fsync) await this.handle.datasync();
    this.closed = true;
    await this.handle.close();
    // In the directory as held by its descriptor: a path swapped meanwhile cannot move it (dirOps).
    await renameInDirectory(this.path, this.finalPath);
    untrackTemporary(this.path);
  }

  /** Closes and removes the temporary file; never throws. */
  async discard(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.flushing;
      await this.handle.close().catch(() => undefined);
    }
    await fsp.rm(this.path, { force: true }).catch(() => undefined);
    untrackTemporary(this.path);
  }
}

function dropBytes(buffers: Buffer[], count: number): Buffer[] {
  let n = count;
  let i = 0;
  while (i < buffers.length && n >= buffers[i].length) n -= buffers[i++].length;
  if (i >= buffers.length) return [];
  return [buffers[i].subarray(n), ...buffers.slice(i + 1)];
}

export interface AtomicWriteOptions extends FileAttributes {
  /** Called with the byte count once the body ended, before the rename: throw to refuse the file. */
  verify?: (bytes: number) => void | Promise<void>;
  /** Force an fdatasync before the rename whatever the size (or none). */
  fsync?: boolean;
  /** Sync files at least this large when `fsync` is not given (default FSYNC_MIN_BYTES; Infinity: never). */
  fsyncMinBytes?: number;
  /** In the temporary file's name (the shard; see temporaryNameIn). */
  tempTag?: string;
  /** Called with each chunk after it was handed to the disk (progress). */
  onChunk?: (chunk: Buffer) => void;
  /** Called with the temporary file's path once it exists (before any write). */
  onOpen?: (tempPath: string) => void;
  /** Called when bytes [0, upTo) are written to the temporary file (in increasing order). */
  onWritten?: (upTo: number) => void;
  /** Called with the chunks of each streamed write once it is done (they may be reused). */
  recycle?: (chunks: Buffer[]) => void;
  /**
   * Write bodies of at most SMALL_FILE_BYTES in one go with synchronous calls (default true).
   * Measured (bench/README.md): 20-35% faster for a tar's entries, one after another. A policy
   * decides when the body has ended and is told how long each such write took (objects, written
   * many at a time: smallWrites.ts), since a file's creation that waits on the file system stalls
   * every transfer at once.
   */
  syncSmall?: boolean | OneGoPolicy;
  /**
   * Do not wait for the commit (attributes, fdatasync, close, rename) of a streamed body: it is
   * returned as `committed`, so that the caller can go on to its next file while the disk flushes
   * this one. The final name appears when `committed` resolves; when it rejects, the temporary file
   * is already gone. Bodies written in one go (SMALL_FILE_BYTES) are committed before the return.
   */
  detachCommit?: boolean;
}

/** Decides whether a small body that has ended is written in one go (SmallWritePolicy). */
export interface OneGoPolicy {
  /**
   * Where there (the native addon), small bodies below the volume root are written by it in one
   * trip through the thread pool, and the rest of the policy is not asked.
   */
  readonly oneTrip?: WriteFileIn;
  inOneGo(): boolean;
  /** For a body written in one go: is its temporary file made through the thread pool first? */
  createAhead(): boolean;
  /** A write in one go took `ms` (`ahead`: not counting the temporary's creation). */
  took(ms: number, ahead?: boolean): void;
}

export interface AtomicWriteResult {
  bytes: number;
  /** With `detachCommit`, the pending commit of a streamed body. */
  committed?: Promise<void>;
}

/**
 * Bodies that end within this many bytes are written in one go with synchronous calls (open,
 * write, attributes, close, rename) once they are complete and verified (unless `syncSmall` is
 * false): for files written one after another that is cheaper than six round trips through the
 * thread pool each, and a temporary file never outlives one turn of the event loop.
 */
export const SMALL_FILE_BYTES = 256 * 1024;

/**
 * Writes `body` to `finalPath` through a temporary file. A body that ends within SMALL_FILE_BYTES
 * is held in memory and written at once (smallBodyWrites.ts); larger ones stream into the
 * temporary file in writes of about 1 MiB, with one write in flight while the next batch fills
 * (backpressure is the await). The final name appears only if the body ended and `verify`
 * accepted it.
 */
export async function writeFileAtomically(
  finalPath: string,
  body: AsyncIterable<Buffer> | Buffer,
  options: AtomicWriteOptions = {},
): Promise<AtomicWriteResult> {
  const small = options.syncSmall === false ? -1 : SMALL_FILE_BYTES;
  const fsyncMinBytes = options.fsyncMinBytes ?? FSYNC_MIN_BYTES;
  const createTemp = () =>
    TempFile.create(finalPath, options.mode ?? 0o644, {
      tag: options.tempTag,
      writeBehind: fsyncMinBytes !== Infinity,
    });
  const policy =
    typeof options.syncSmall === 'object' ? options.syncSmall : undefined;
  /** May a small body that has ended be written in one go now? */
  const inOneGo = () => (policy ? policy.inOneGo() : small >= 0);
  /**
   * Writes a complete, verified small body in one go (its temporary made ahead when the policy
   * says so), and tells the policy how long the synchronous part took, also when it failed (a
   * write that hung on the file system and then failed held the thread as long).
   */
  const inOneGoNow = async (chunks: Buffer[], bytes: number) => {
    const fsync = options.fsync ?? bytes >= fsyncMinBytes;
    if (
      policy?.oneTrip &&
      (await writeSmallInOneTrip(
        policy.oneTrip,
        finalPath,
        chunks,
        options,
        fsync,
      ))
    )
      return;
    if (policy?.createAhead()) {
      await writeSmallCreatedAhead(finalPath, chunks, options, fsync, ms =>
        policy.took(ms, true),
      );
      return;
    }
    const started = performance.now();
    try {
      writeSmallSync(finalPath, chunks, options, fsync);
    } finally {
      policy?.took(performance.now() - started);
    }
  };
  if (Buffer.isBuffer(body) && body.length <= small && inOneGo()) {
    options.onChunk?.(body);
    await options.verify?.(body.length);
    await inOneGoNow([body], body.length);
    return { bytes: body.length };
  }
  let temp: TempFile | undefined;
  let bytes = 0;
  let verified = false;
  try {
    if (Buffer.isBuffer(body)) {
      temp = await createTemp();
      options.onOpen?.(temp.path);
      await temp.writeAt([body], 0);
      bytes = body.length;
      options.onChunk?.(body);
      options.onWritten?.(bytes);
    } else {
      const onWritten = options.onWritten;
      let batch: Buffer[] = [];
      let batchBytes = 0;
      let inFlight: Promise<void> | undefined;
      let position = 0;
      const flush = async (file: TempFile) => {
        if (inFlight) await inFlight;
        const buffers = batch;
        const at = position;
        position += batchBytes;
        batch = [];
        batchBytes = 0;
        const end = position;
        const { recycle } = options;
        inFlight = file.writeAt(buffers, at).then(() => {
          onWritten?.(end);
          recycle?.(buffers);
        });
        // Awaited at the next flush; until then a failure must not count as unhandled.
        inFlight.catch(() => undefined);
      };
      for await (const chunk of body) {
        batch.push(chunk);
        batchBytes += chunk.length;
        bytes += chunk.length;
        options.onChunk?.(chunk);
        if (!temp) {
          // Still small: keep it in memory; past the limit, open the file and stream.
          if (bytes <= small) continue;
          temp = await createTemp();
          options.onOpen?.(temp.path);
        }
        if (batchBytes >= WRITE_BATCH_BYTES) await flush(temp);
      }
      if (!temp) {
        // Small, and whole in memory: verified before its file exists; the policy, asked once
        // verification is done, says whether it goes in one go or through the thread pool below.
        await options.verify?.(bytes);
        verified = true;
        if (inOneGo()) {
          await inOneGoNow(batch, bytes);
          options.recycle?.(batch);
          return { bytes };
        }
        temp = await createTemp();
        options.onOpen?.(temp.path);
      }
      if (batchBytes > 0) await flush(temp);
      if (inFlight) await inFlight;
    }
    if (!verified) await options.verify?.(bytes);
    const commit = temp.commit(options, {
      fsync: options.fsync ?? bytes >= fsyncMinBytes,
    });
    if (options.detachCommit) {
      const file = temp;
      temp = undefined;
      const committed = commit.catch(async error => {
        await file.discard();
        throw error;
      });
      // The caller awaits it; until then a failure must not count as unhandled.
      committed.catch(() => undefined);
      return { bytes, committed };
    }
    await commit;
    return { bytes };
  } catch (error) {
    await temp?.discard();
    throw error;
  }
}
