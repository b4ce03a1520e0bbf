/**
 * Streaming extraction of a tar (plain, gzip, zstd where the runtime has it) into the volume, with
 * the same rules as objects: every path confined beneath the root, two entries on one path refused,
 * files written atomically. The archive is read once, as it arrives; the paths it claimed and wrote
 * move to the scratch directory once they are many (tar entries come in no order).
 */
import { once } from 'node:events';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { ConflictPolicy, createKeyFilter } from '@kube-restore/common';
import * as tar from 'tar-stream';
import { classifyError, RestoreError } from '../errors';
import type { ManifestEntry } from '../manifest';
import {
  applyStripPrefix,
  conflict,
  normalizeEntryPath,
  parentOf,
  SafeRoot,
  unsafe,
} from '../paths';
import { existingPathAction, Preexisting } from '../volume';
import { DirectoryEntryLimit } from '../dirEntries';
import { SpillingPathRegistry } from '../spillingPaths';
import { SpillSet } from '../spillSet';
import { writeFileAtomically } from '../writeFileAtomically';
import { watchEnd, writeArchiveInput } from './archiveInput';
import { makeSymlinks, PendingSymlink, replaceWith } from './extractLinks';

export const GUNZIP_CHUNK_BYTES = 128 * 1024;

export type ArchiveFormat =
  'gzip' | 'zstd' | 'bzip2' | 'xz' | 'tar' | 'unknown';

/** The format of an archive from its first bytes (at least 512 for a plain tar). */
export function sniffArchive(head: Buffer): ArchiveFormat {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh')
    return 'bzip2';
  if (
    head.length >= 6 &&
    head
      .subarray(0, 6)
      .equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))
  )
    return 'xz';
  if (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar')
    return 'tar';
  if (head.length >= 512 && isV7TarHeader(head.subarray(0, 512))) return 'tar';
  return 'unknown';
}

/** A pre-POSIX tar header: its checksum field matches. */
function isV7TarHeader(block: Buffer): boolean {
  const field = block.toString('latin1', 148, 156).replace(/\0.*$/, '').trim();
  if (!/^[0-7]+$/.test(field)) return false;
  let sum = 8 * 32;
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += block[i];
  return sum === parseInt(field, 8);
}

/** Reads up to `bytes` from the front of `source`; returns them and an iterable of everything. */
export async function peek(
  source: AsyncIterable<Buffer>,
  bytes: number,
): Promise<{ head: Buffer; all: AsyncIterable<Buffer> }> {
  const iterator = source[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  while (size < bytes) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    chunks.push(next.value);
    size += next.value.length;
  }
  const head = Buffer.concat(chunks);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (ended) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { head, all: all() };
}

/** The decompressed bytes of an archive, by sniffing; INVALID_ARCHIVE for what Node cannot read. */
export async function decompressed(
  source: AsyncIterable<Buffer>,
  entry: string,
): Promise<{ format: ArchiveFormat; tar: AsyncIterable<Buffer> }> {
  const { head, all } = await peek(source, 512);
  const format = sniffArchive(head);
  switch (format) {
    case 'tar':
      return { format, tar: all };
    case 'gzip':
      return {
        format,
        tar: inflate(all, zlib.createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES })),
      };
    case 'zstd': {
      const createZstd = (
        zlib as unknown as {
          createZstdDecompress?: (o?: object) => NodeJS.ReadWriteStream;
        }
      ).createZstdDecompress;
      if (!createZstd) {
        throw new RestoreError(
          'INVALID_ARCHIVE',
          `"${entry}" is zstd-compressed; this Node runtime (${process.version}) cannot decompress zstd (Node >= 22.15 can)`,
          { entry },
        );
      }
      return {
        format,
        tar: inflate(
          all,
          createZstd({
            chunkSize: GUNZIP_CHUNK_BYTES,
          }) as unknown as zlib.Gunzip,
        ),
      };
    }
    default:
      if (head.length === 0)
        throw new RestoreError(
          'INVALID_ARCHIVE',
          `"${entry}" is empty, not a tar archive`,
          { entry },
        );
      throw new RestoreError(
        'INVALID_ARCHIVE',
        `"${entry}" is not a tar, tar.gz${format !== 'unknown' ? ` (it is ${format})` : ''}`,
        { entry },
      );
  }
}

/** Pipes `source` through a zlib stream with backpressure; zlib errors become INVALID_ARCHIVE. */
async function* inflate(
  source: AsyncIterable<Buffer>,
  z: zlib.Gunzip,
): AsyncGenerator<Buffer> {
  let sourceError: unknown;
  const feed = (async () => {
    try {
      for await (const chunk of source) {
        if (!z.write(chunk)) await once(z, 'drain');
      }
      z.end();
    } catch (error) {
      sourceError = error;
      z.destroy(error as Error);
    }
  })();
  try {
    for await (const chunk of z as AsyncIterable<Buffer>) yield chunk;
  } catch (error) {
    if (sourceError !== undefined) throw sourceError;
    throw new RestoreError(
      'INVALID_ARCHIVE',
      `decompression failed: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    z.destroy();
    await feed.catch(() => undefined);
  }
  if (sourceError !== undefined) throw sourceError;
}

export interface ExtractOptions {
  root: SafeRoot;
  /** Name of the archive, for messages. */
  archive: string;
  stripPrefix?: string;
  include?: string[];
  exclude?: string[];
  conflict: ConflictPolicy;
  /**
   * What the volume held before the restore's first attempt: the policy applies to these; an
   * existing file not among them is the restore's own (an earlier attempt's) and is replaced.
   * Default: everything already there counts as the volume's.
   */
  preexisting?: Preexisting;
  fileMode?: number;
  dirMode?: number;
  /** Owner from the request; else the archive's when `canChown`. */
  uid?: number;
  gid?: number;
  canChown: boolean;
  signal?: AbortSignal;
  /** Skip entries of unsupported types (GNU sparse, ...) instead of failing; they are reported. */
  skipUnsupported?: boolean;
  /**
   * A fresh file in the scratch directory: the paths claimed and written move there past
   * `spillLimit` (spillingPaths.ts, spillSet.ts). Without it they stay in memory (tests).
   */
  spillFile?: () => string;
  /** Paths held in memory before they move to `spillFile`; default DEFAULT_SPILL_LIMIT. */
  spillLimit?: number;
  /** Entries one directory may hold (dirEntries.ts); default DEFAULT_MAX_ENTRIES_PER_DIRECTORY. */
  maxEntriesPerDirectory?: number;
  /** Check free space before each file larger than this (a decompression bomb ends before it writes). */
  freeSpaceCheckBytes?: number;
  onEntry?: (line: ManifestEntry) => void;
  /**
   * Called with the symlinks (as entries) before any is made, and awaited: a record that survives a
   * kill while they are made, so the next attempt can check them (checkRecordedSymlinks).
   */
  beforeSymlinks?: (lines: ManifestEntry[]) => Promise<void>;
  onFile?: () => void;
  log?: (
    level: 'debug' | 'info' | 'warn',
    msg: string,
    fields: Record<string, unknown>,
  ) => void;
}

export interface ExtractResult {
  entries: number;
  files: number;
  skipped: number;
  bytes: number;
  /** Entries of types not restored, skipped because the request allows it (reported in the summary). */
  unsupported: Array<{ entry: string; type: string }>;
}

/** Entry types that are restored; devices and fifos are refused, anything else is unsupported. */
const RESTORED_TYPES: readonly string[] = [
  'file',
  'contiguous-file',
  'directory',
  'symlink',
  'link',
];

/**
 * Large files whose commit (fdatasync, rename) may still be running while the next entries are
 * extracted: the disk flushes one file while the archive goes on.
 */
const MAX_PENDING_COMMITS = 2;

/** A tar entry's body (a streamx Readable). */
type EntryStream = AsyncIterable<Buffer> & { resume(): void };

interface PendingDir {
  abs: string;
  mode?: number;
  mtime?: Date;
}

/** Extracts the tar stream `input` (already decompressed) beneath `options.root`. */
export async function extractTar(
  input: AsyncIterable<Buffer>,
  options: ExtractOptions,
): Promise<ExtractResult> {
  const spill = {
    spillFile: options.spillFile,
    memoryLimit: options.spillLimit,
  };
  const registry = new SpillingPathRegistry({
    ...spill,
    foldCase: options.root.caseInsensitive,
  });
  /** Final paths this extraction wrote: a second entry that reaches one (through a link) is refused. */
  const writtenHere = new SpillSet(spill);
  try {
    return await extractEntries(input, options, registry, writtenHere);
  } finally {
    registry.close();
    writtenHere.close();
  }
}

async function extractEntries(
  input: AsyncIterable<Buffer>,
  options: ExtractOptions,
  registry: SpillingPathRegistry,
  writtenHere: SpillSet,
): Promise<ExtractResult> {
  const extract = tar.extract();
  const result: ExtractResult = {
    entries: 0,
    files: 0,
    skipped: 0,
    bytes: 0,
    unsupported: [],
  };
  const entriesPerDir = new DirectoryEntryLimit(
    options.maxEntriesPerDirectory,
    {
      foldCase: options.root.caseInsensitive,
      source: `archive "${options.archive}"`,
    },
  );
  const preexisting = options.preexisting ?? new Preexisting('unknown');
  const keep = createKeyFilter(options);
  const dirs: PendingDir[] = [];
  /** Symlinks are made last, once every file and directory is in place (see makeSymlinks). */
  const symlinks: PendingSymlink[] = [];
  let failure: unknown;
  /** Files written but still being committed; the first failure among them ends the extraction. */
  const commits = new Set<Promise<void>>();
  let commitFailure: unknown;
  const drainCommits = () => Promise.allSettled([...commits]);
  const settleCommits = async () => {
    await drainCommits();
    if (commitFailure !== undefined) throw commitFailure;
  };
  // From here on, a directory the root says it made holds only what this extraction wrote (a
  // retry of the archive starts with nothing "made").
  options.root.forget();

  const handleEntry = async (header: tar.Header, stream: EntryStream) => {
    if (options.signal?.aborted)
      throw new RestoreError('CANCELLED', 'the restore was stopped');
    if (commitFailure !== undefined) throw commitFailure;
    result.entries++;
    const name = header.name;
    const type = header.type;
    const skip = () => {
      result.skipped++;
      stream.resume();
    };
    if (
      type === 'character-device' ||
      type === 'block-device' ||
      type === 'fifo'
    ) {
      throw unsafe(name, `is a ${type} entry`);
    }
    if (!RESTORED_TYPES.includes(type as string)) {
      const what = type ?? 'unknown';
      if (!options.skipUnsupported) {
        throw new RestoreError(
          'INVALID_ARCHIVE',
          `"${name}" is an archive entry of a type kube-restore does not restore (${what}); ` +
            'set source.skipUnsupportedEntries to restore the rest without it',
          { entry: name },
        );
      }
      options.log?.('warn', 'archive entry of an unsupported type skipped', {
        entry: name,
        type: what,
      });
      result.unsupported.push({ entry: name, type: what });
      skip();
      return;
    }
    const stripped = applyStripPrefix(name, options.stripPrefix);
    if (stripped === undefined) {
      skip();
      return;
    }
    if (!keep(name.replace(/^\.\//, '').replace(/\/$/, ''))) {
      skip();
      return;
    }
    const normalized = normalizeEntryPath(
      type === 'directory' && !stripped.endsWith('/')
        ? `${stripped}/`
        : stripped,
      name,
    );
    if (normalized.kind === 'skip') {
      options.log?.('warn', 'archive entry not restored', {
        entry: name,
        reason: normalized.reason,
      });
      skip();
      return;
    }
    const rel = normalized.path;
    const mode = (header.mode ?? 0o644) & 0o1777;
    if (type === 'directory' || normalized.kind === 'dir') {
      if (type !== 'directory')
        throw unsafe(name, 'is a file whose name ends with "/"');
      registry.claimDir(rel, name);
      entriesPerDir.add(rel, name, true);
      const abs = await options.root.ensureDir(rel, name);
      if (rel !== '')
        dirs.push({
          abs,
          mode: options.dirMode ?? mode | 0o700,
          mtime: header.mtime,
        });
      options.onEntry?.({
        type: 'entry',
        entry: name,
        path: rel,
        size: 0,
        kind: 'dir',
      });
      stream.resume();
      return;
    }
    registry.claimFile(rel, name);
    entriesPerDir.add(rel, name, false);
    const finalPath = await options.root.filePath(rel, name);
    // In a directory this extraction made, nothing is there but what it wrote under that name, and
    // the registry refuses a second entry on one path (or a path through a link the archive made):
    // no need to look.
    const existing = options.root.madeHere(parentOf(rel))
      ? undefined
      : await fsp.lstat(finalPath).catch(() => undefined);
    if (existing) {
      if (existing.isDirectory())
        throw conflict(name, `"${rel}" is a directory in the volume`);
      if (writtenHere.has(finalPath))
        throw conflict(
          name,
          `"${rel}" is a file another entry of the archive wrote (through a link)`,
        );
      const action = existingPathAction(
        existing,
        preexisting,
        options.conflict,
      );
      if (action === 'skip') {
        skip();
        return;
      }
      if (action === 'fail')
        throw conflict(name, `"${rel}" already exists in the volume`);
    }
    writtenHere.add(finalPath);
    const owner = {
      uid: options.uid ?? (options.canChown ? header.uid : undefined),
      gid: options.gid ?? (options.canChown ? header.gid : undefined),
    };
    if (!options.canChown) {
      owner.uid = undefined;
      owner.gid = undefined;
    }

    if (type === 'symlink') {
      const target = header.linkname ?? '';
      // Checked now (fail before writing more) and again once every link exists.
      await options.root.checkSymlinkTarget(rel, target, name);
      options.root.addPendingLink(rel, target);
      symlinks.push({ rel, target, entry: name, finalPath, owner });
      stream.resume();
      return;
    }

    if (type === 'link') {
      const linkStripped = applyStripPrefix(
        header.linkname ?? '',
        options.stripPrefix,
      );
      if (linkStripped === undefined)
        throw unsafe(
          name,
          `is a hardlink to "${header.linkname}", outside what is restored`,
        );
      const targetNorm = normalizeEntryPath(linkStripped, name);
      if (targetNorm.kind !== 'file')
        throw unsafe(
          name,
          `is a hardlink to "${header.linkname}", which is not a file`,
        );
      // The target may be a file whose commit is still running.
      await settleCommits();
      const targetAbs = await options.root.resolveBeneath(
        targetNorm.path,
        name,
        { followLast: false },
      );
      const st = await fsp.lstat(targetAbs).catch(() => undefined);
      if (!st?.isFile())
        throw unsafe(
          name,
          `is a hardlink to "${header.linkname}", which is not a restored regular file`,
        );
      await replaceWith(finalPath, name, tmp => fsp.link(targetAbs, tmp));
      result.files++;
      options.onEntry?.({
        type: 'entry',
        entry: name,
        path: rel,
        size: st.size,
        kind: 'hardlink',
      });
      options.onFile?.();
      stream.resume();
      return;
    }

    // A regular file.
    const size = header.size ?? 0;
    if (
      options.freeSpaceCheckBytes !== undefined &&
      size > options.freeSpaceCheckBytes
    ) {
      const fs = await fsp.statfs(path.dirname(finalPath));
      const free = fs.bavail * fs.bsize;
      if (size > free) {
        throw new RestoreError(
          'NO_SPACE',
          `"${name}" needs ${size} bytes, the volume has ${free} free`,
          { entry: name },
        );
      }
    }
    if (commits.size >= MAX_PENDING_COMMITS) await Promise.race(commits);
    const { committed } = await writeFileAtomically(finalPath, stream, {
      detachCommit: true,
      mode: options.fileMode ?? mode,
      mtime: header.mtime,
      uid: owner.uid,
      gid: owner.gid,
      verify: bytes => {
        if (bytes !== size)
          throw new RestoreError(
            'INVALID_ARCHIVE',
            `"${name}" has ${bytes} bytes, its header says ${size}`,
            { entry: name },
          );
      },
    });
    const written = () => {
      result.files++;
      result.bytes += size;
      options.onEntry?.({
        type: 'entry',
        entry: name,
        path: rel,
        size,
        kind: 'file',
      });
      options.onFile?.();
    };
    if (!committed) {
      written();
      return;
    }
    const pending: Promise<void> = committed.then(written).catch(error => {
      commitFailure ??= error;
    });
    commits.add(pending);
    pending.finally(() => commits.delete(pending));
  };

  let current: Promise<void> = Promise.resolve();
  extract.on('entry', (header, source, next) => {
    const stream = source as unknown as EntryStream;
    // When the archive breaks, tar-stream destroys the entry with the error; it reaches us through
    // the entry's iteration (or `finished`), so an 'error' event here must not count as unhandled.
    source.on('error', () => undefined);
    current = handleEntry(header, stream).then(
      () => next(),
      error => {
        failure ??= error;
        stream.resume();
        next(error as Error);
      },
    );
  });

  const end = watchEnd(extract);

  try {
    await writeArchiveInput(input, extract, end, () => failure !== undefined);
    if (failure === undefined) (extract as unknown as { end(): void }).end();
    await end.finished;
    if (failure === undefined) await settleCommits();
  } catch (error) {
    extract.destroy();
    // Let the entry being written discard its temporary file, and the commits in flight end,
    // before anyone looks at the volume.
    await current.catch(() => undefined);
    await drainCommits();
    throw translateTarError(failure ?? error, options.archive);
  }
  if (failure !== undefined) {
    await drainCommits();
    throw translateTarError(failure, options.archive);
  }

  await makeSymlinks(symlinks, options);
  // Directory modes and mtimes last (writing children changes a directory's mtime), deepest first.
  for (const dir of dirs.reverse()) {
    if (dir.mode !== undefined) await fsp.chmod(dir.abs, dir.mode);
    if (dir.mtime)
      await fsp.utimes(dir.abs, dir.mtime, dir.mtime).catch(() => undefined);
  }
  return result;
}

function translateTarError(error: unknown, archive: string): RestoreError {
  if (error instanceof RestoreError) return error;
  const e = error as NodeJS.ErrnoException;
  if (e?.code === 'ENOSPC' || e?.code === 'EDQUOT') {
    return new RestoreError('NO_SPACE', `the volume is full (${e.code})`, {
      entry: archive,
      cause: error,
    });
  }
  if (e?.code === 'ENAMETOOLONG') return classifyError(error, archive);
  if (e?.code && /^E[A-Z]+$/.test(e.code)) {
    if (['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNREFUSED'].includes(e.code)) {
      return new RestoreError('NETWORK', e.message, {
        entry: archive,
        cause: error,
      });
    }
    return new RestoreError('INTERNAL', e.message, {
      entry: archive,
      cause: error,
    });
  }
  if (/socket hang up|aborted/i.test(e?.message ?? ''))
    return new RestoreError('NETWORK', e.message, {
      entry: archive,
      cause: error,
    });
  return new RestoreError(
    'INVALID_ARCHIVE',
    `"${archive}" is not a valid tar archive: ${e?.message ?? String(error)}`,
    {
      entry: archive,
      cause: error,
    },
  );
}
