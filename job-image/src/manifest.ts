/**
 * The integrity manifest in the volume (`.kube-restore/manifest.jsonl`, one per shard when sharded):
 * one JSON line per object written and verified. A retried pod reads it back and skips objects it
 * records with the same ETag, version and size whose file is still there with that size. The
 * manifest is read back as a stream, its objects into an on-disk table (resumeRecords.ts).
 */
import { constants as fsConstants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { MANIFEST_DIR, MANIFEST_FILE } from '@kube-restore/common';
import { ResumeLookup, ResumeRecords } from './resumeRecords';
import { readLines } from './scratch';
import type { Shard } from './shard';

export const MANIFEST_VERSION = 1;
const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = fsConstants;

export interface ManifestObject {
  type: 'object';
  key: string;
  version?: string;
  path: string;
  size: number;
  etag?: string;
  /** `md5:<hex>`, `crc32c:<base64>`, ... or `size` when only the size could be checked. */
  checksum: string;
  verified: boolean;
}

export interface ManifestArchive {
  type: 'archive';
  key: string;
  version?: string;
  size: number;
  etag?: string;
  checksum: string;
  verified: boolean;
  entries: number;
  bytes: number;
}

export interface ManifestEntry {
  type: 'entry';
  /** Name in the archive. */
  entry: string;
  path: string;
  size: number;
  kind: 'file' | 'dir' | 'symlink' | 'hardlink';
}

export type ManifestLine =
  | {
      type: 'header';
      v: number;
      restore: string;
      shard?: Shard;
      startedAt: string;
    }
  | ManifestObject
  | ManifestArchive
  | ManifestEntry;

/** Manifest path relative to the volume root. */
export function manifestPathFor(shard: Shard | undefined): string {
  return shard
    ? `${MANIFEST_DIR}/manifest-${shard.index}-of-${shard.count}.jsonl`
    : MANIFEST_FILE;
}

export interface LoadedManifest {
  /** Verified objects by key (on disk when loaded by loadManifest). */
  objects: ResumeLookup;
  archives: Map<string, ManifestArchive>;
  lines: number;
  /** Paths of symlinks an earlier attempt made or was about to make (recorded before it made them). */
  symlinks?: string[];
  /** Closes the on-disk table. */
  close?: () => void;
}

/**
 * Reads a manifest line by line; a missing file is empty, a torn last line (killed mid-write) is
 * ignored. Objects go to an SQLite table at `table` (a fresh file in the scratch directory;
 * `:memory:` by default, for tests).
 */
export async function loadManifest(
  file: string,
  table = ':memory:',
): Promise<LoadedManifest> {
  const objects = new ResumeRecords(table);
  const loaded: LoadedManifest = {
    objects,
    archives: new Map(),
    lines: 0,
    close: () => objects.close(),
  };
  try {
    // A link in kube-restore's own directory is never followed (readLines opens O_NOFOLLOW).
    for await (const raw of readLines(file)) {
      if (!raw) continue;
      let line: ManifestLine;
      try {
        line = JSON.parse(raw) as ManifestLine;
      } catch {
        continue;
      }
      loaded.lines++;
      if (line.type === 'entry' && line.kind === 'symlink')
        (loaded.symlinks ??= []).push(line.path);
      else if (line.type === 'object' && line.verified) objects.add(line);
      else if (line.type === 'archive' && line.verified)
        loaded.archives.set(line.key, line);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      objects.close();
      throw error;
    }
  }
  objects.seal();
  return loaded;
}

/**
 * Appends manifest lines, batched; `flush()` writes them, `flush(true)` also fsyncs. The writes go
 * one after another (O_APPEND, in order), and each takes every line pending when it starts, not when
 * it was asked for: a restore that makes lines faster than one write per turn of the event loop
 * (a tar of tiny entries) would otherwise queue a batch per 512 lines and hold them all.
 */
export class ManifestWriter {
  private pending: string[] = [];
  private writing: Promise<void> = Promise.resolve();
  /** A write is asked for and has not started: it will take the lines appended meanwhile. */
  private queued = false;
  /** The first failed write: every later flush reports it (a batch written in the background may fail). */
  private failure: unknown;

  private constructor(
    readonly file: string,
    private readonly handle: FileHandle,
  ) {}

  static async open(file: string): Promise<ManifestWriter> {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const handle = await fsp.open(
      file,
      O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW,
      0o644,
    );
    return new ManifestWriter(file, handle);
  }

  append(line: ManifestLine): void {
    this.pending.push(`${JSON.stringify(line)}\n`);
    if (this.pending.length >= 512 && !this.queued)
      void this.flush().catch(() => undefined);
  }

  flush(sync = false): Promise<void> {
    this.queued = true;
    const previous = this.writing;
    this.writing = (async () => {
      await previous.catch(() => undefined);
      this.queued = false;
      const text = this.pending.join('');
      this.pending = [];
      if (this.failure !== undefined) throw this.failure;
      try {
        if (text) await this.handle.appendFile(text);
        if (sync) await this.handle.sync();
      } catch (error) {
        this.failure = error;
        throw error;
      }
    })();
    return this.writing;
  }

  async close(): Promise<void> {
    try {
      await this.flush(true);
    } finally {
      await this.handle.close();
    }
  }
}
