/**
 * The per-entry half of a tar extraction (extract.ts has the other): each entry of the tar stream is
 * checked (its type, its path, the filters, what the volume holds there) and then written (files,
 * hardlinks, directories) or recorded for the end (symlinks, directory modes and mtimes). Large
 * files commit in the background, a few at a time; the first failure among them ends the extraction.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ConflictPolicy, createKeyFilter } from '@kube-restore/common';
import type * as tar from 'tar-stream';
import { RestoreError } from '../errors';
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
import type { SpillingPathRegistry } from '../spillingPaths';
import type { SpillSet } from '../spillSet';
import { writeFileAtomically } from '../writeFileAtomically';
import { PendingSymlink, replaceWith } from './extractLinks';

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
export type EntryStream = AsyncIterable<Buffer> & { resume(): void };

interface PendingDir {
  abs: string;
  mode?: number;
  mtime?: Date;
}

/** The per-entry handling of one extraction, and what it leaves for the end. */
export interface EntryHandler {
  /** Checks one entry, then writes it or records it for the end; throws what refuses it. */
  handleEntry(header: tar.Header, stream: EntryStream): Promise<void>;
  /** Counts so far (complete once every entry is handled and the commits settled). */
  readonly result: ExtractResult;
  /** The archive's symlinks, to be made once everything else is in place (makeSymlinks). */
  readonly symlinks: PendingSymlink[];
  /** Waits for the commits in flight, whatever their outcome. */
  drainCommits(): Promise<unknown>;
  /** Waits for the commits in flight; throws the first failure among them. */
  settleCommits(): Promise<void>;
  /** Sets the directories' modes and mtimes, deepest first (writing children changes an mtime). */
  finishDirectories(): Promise<void>;
}

/**
 * The entry handling of one extraction: `registry` refuses two entries on one path, `writtenHere`
 * holds the final paths written (a second entry reaching one through a link is refused).
 */
export function createEntryHandler(
  options: ExtractOptions,
  registry: SpillingPathRegistry,
  writtenHere: SpillSet,
): EntryHandler {
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
  /** Files written but still being committed; the first failure among them ends the extraction. */
  const commits = new Set<Promise<void>>();
  let commitFailure: unknown;
  const drainCommits = () => Promise.allSettled([...commits]);
  const settleCommits = async () => {
    await drainCommits();
    if (commitFailure !== undefined) throw commitFailure;
  };

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

  const finishDirectories = async () => {
    for (const dir of dirs.reverse()) {
      if (dir.mode !== undefined) await fsp.chmod(dir.abs, dir.mode);
      if (dir.mtime)
        await fsp.utimes(dir.abs, dir.mtime, dir.mtime).catch(() => undefined);
    }
  };

  return {
    handleEntry,
    result,
    symlinks,
    drainCommits,
    settleCommits,
    finishDirectories,
  };
}
