/**
 * The link phase of a tar extraction: symlinks are made after every other entry and checked again
 * once all exist; hardlinks and symlinks are created at a temporary name and renamed into place in
 * their directory as held (dirOps.ts). Also the check, on resume, of links an earlier attempt made.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { RestoreError } from '../errors';
import type { ManifestEntry } from '../manifest';
import type { SafeRoot } from '../paths';
import { inDirectory, replaceInDirectory } from '../dirOps';
import { temporaryNameIn } from '../temporaries';

/** What the link phase needs of the extraction's options (ExtractOptions has them all). */
export interface LinkOptions {
  root: SafeRoot;
  signal?: AbortSignal;
  /** Awaited with the links (as entries) before any is made. */
  beforeSymlinks?: (lines: ManifestEntry[]) => Promise<void>;
  onEntry?: (line: ManifestEntry) => void;
}

export interface PendingSymlink {
  rel: string;
  target: string;
  entry: string;
  finalPath: string;
  owner: { uid?: number; gid?: number };
}

/**
 * Makes the archive's symlinks, after everything else: a link that resolves inside the volume may
 * escape once a later link exists (`a -> m/../x`, then `m -> .`), so every link is checked again
 * when all exist. On any failure (a check, an error, a stop) every link made here is removed before
 * the error goes on: no escaping link survives the extraction, whatever its exit.
 */
export async function makeSymlinks(
  links: PendingSymlink[],
  options: LinkOptions,
): Promise<void> {
  const made: PendingSymlink[] = [];
  options.root.clearPendingLinks();
  const lines = links.map(link => symlinkEntry(link));
  if (lines.length > 0) await options.beforeSymlinks?.(lines);
  try {
    for (const link of links) {
      if (options.signal?.aborted)
        throw new RestoreError('CANCELLED', 'the restore was stopped');
      await options.root.checkSymlinkTarget(link.rel, link.target, link.entry);
      const { uid, gid } = link.owner;
      await replaceWith(
        link.finalPath,
        link.entry,
        tmp => fsp.symlink(link.target, tmp),
        async at => {
          made.push(link);
          if (uid !== undefined || gid !== undefined)
            await fsp.lchown(at, uid ?? -1, gid ?? -1);
        },
      );
    }
    for (const link of made)
      await options.root.checkSymlinkTarget(link.rel, link.target, link.entry);
  } catch (error) {
    await removeSymlinks(made);
    throw error;
  }
  // Recorded before they were made when the caller keeps that record; else now.
  if (!options.beforeSymlinks) lines.forEach(line => options.onEntry?.(line));
}

function symlinkEntry(link: PendingSymlink): ManifestEntry {
  return {
    type: 'entry',
    entry: link.entry,
    path: link.rel,
    size: 0,
    kind: 'symlink',
  };
}

/**
 * Removes the links among `paths` (recorded by an earlier attempt) that now resolve outside the
 * volume: a pod killed while it made its links never ran the final check. Returns those removed.
 */
export async function checkRecordedSymlinks(
  root: SafeRoot,
  paths: readonly string[],
): Promise<string[]> {
  const removed: string[] = [];
  for (const rel of paths) {
    const abs = path.join(root.real, rel);
    const st = await fsp.lstat(abs).catch(() => undefined);
    if (!st?.isSymbolicLink()) continue;
    try {
      await root.checkSymlinkTarget(rel, await fsp.readlink(abs), rel);
    } catch {
      await fsp.rm(abs, { force: true });
      removed.push(rel);
    }
  }
  return removed;
}

/** Removes links this extraction made (only if what is there is still a link). */
async function removeSymlinks(links: PendingSymlink[]): Promise<void> {
  for (const link of links) {
    // In its directory as held (dirOps.ts), never through a link put in its path meanwhile.
    await inDirectory(path.dirname(link.finalPath), link.entry, async at => {
      const name = at(path.basename(link.finalPath));
      const st = await fsp.lstat(name).catch(() => undefined);
      if (st?.isSymbolicLink()) await fsp.rm(name, { force: true });
    }).catch(() => undefined);
  }
}

/**
 * Creates something at a temporary name next to `finalPath` and renames it over `finalPath`, both
 * in the final directory as held by its descriptor (dirOps.ts: a directory of the path swapped for
 * a link meanwhile cannot make the link land elsewhere); `after` runs on the final name there.
 */
export async function replaceWith(
  finalPath: string,
  entry: string,
  create: (tmp: string) => Promise<void>,
  after?: (finalAt: string) => Promise<void>,
): Promise<void> {
  const tmp = temporaryNameIn(path.dirname(finalPath));
  await replaceInDirectory(tmp, finalPath, entry, create, after);
}
