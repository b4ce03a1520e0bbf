/**
 * Streaming extraction of a tar (plain, gzip, zstd where the runtime has it) into the volume, with
 * the same rules as objects: every path confined beneath the root, two entries on one path refused,
 * files written atomically. The archive is read once, as it arrives; the paths it claimed and wrote
 * move to the scratch directory once they are many (tar entries come in no order). This module
 * sniffs and decompresses the archive and runs the extraction; each entry is checked and written by
 * extractEntries.ts, the links are made by extractLinks.ts.
 */
import { once } from 'node:events';
import zlib from 'node:zlib';
import * as tar from 'tar-stream';
import { classifyError, RestoreError } from '../errors';
import { SpillingPathRegistry } from '../spillingPaths';
import { SpillSet } from '../spillSet';
import { watchEnd, writeArchiveInput } from './archiveInput';
import {
  createEntryHandler,
  EntryStream,
  ExtractOptions,
  ExtractResult,
} from './extractEntries';
import { makeSymlinks } from './extractLinks';

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

export type { ExtractOptions, ExtractResult } from './extractEntries';

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
    return await runExtraction(input, options, registry, writtenHere);
  } finally {
    registry.close();
    writtenHere.close();
  }
}

/** Feeds the archive to tar-stream, hands each entry over in turn, then makes the links and modes. */
async function runExtraction(
  input: AsyncIterable<Buffer>,
  options: ExtractOptions,
  registry: SpillingPathRegistry,
  writtenHere: SpillSet,
): Promise<ExtractResult> {
  const extract = tar.extract();
  const handler = createEntryHandler(options, registry, writtenHere);
  let failure: unknown;
  // From here on, a directory the root says it made holds only what this extraction wrote (a
  // retry of the archive starts with nothing "made").
  options.root.forget();

  let current: Promise<void> = Promise.resolve();
  extract.on('entry', (header, source, next) => {
    const stream = source as unknown as EntryStream;
    // When the archive breaks, tar-stream destroys the entry with the error; it reaches us through
    // the entry's iteration (or `finished`), so an 'error' event here must not count as unhandled.
    source.on('error', () => undefined);
    current = handler.handleEntry(header, stream).then(
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
    if (failure === undefined) await handler.settleCommits();
  } catch (error) {
    extract.destroy();
    // Let the entry being written discard its temporary file, and the commits in flight end,
    // before anyone looks at the volume.
    await current.catch(() => undefined);
    await handler.drainCommits();
    throw translateTarError(failure ?? error, options.archive);
  }
  if (failure !== undefined) {
    await handler.drainCommits();
    throw translateTarError(failure, options.archive);
  }

  await makeSymlinks(handler.symlinks, options);
  await handler.finishDirectories();
  return handler.result;
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
