/**
 * The temporary files every write goes through: their names (`.kr-tmp-<tag><counter>`, made with
 * O_EXCL|O_NOFOLLOW in the final directory), the ones alive in this process (SIGTERM discards
 * them), and the attributes a file gets before its rename.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { TEMP_PREFIX } from './paths';

export interface FileAttributes {
  /** Permission bits; default 0644 (less the umask when not given). */
  mode?: number;
  mtime?: Date;
  uid?: number;
  gid?: number;
}

/** 48 random bits per process, then a counter: unique names without a random draw per file. */
let tempCounter = randomBytes(6).readUIntBE(0, 6);

/**
 * A fresh temporary name in `dir` (12 hex digits after the prefix and tag; O_EXCL settles clashes).
 * `tag` names the shard, so that a resumed shard removes only its own leftovers.
 */
export function temporaryNameIn(dir: string, tag = ''): string {
  tempCounter = (tempCounter + 1) % 2 ** 48;
  return path.join(
    dir,
    `${TEMP_PREFIX}${tag}${tempCounter.toString(16).padStart(12, '0')}`,
  );
}

/** Temporary files alive in this process, so that SIGTERM can discard them (main.ts). */
const liveTemps = new Set<string>();

export function liveTemporaryFiles(): string[] {
  return [...liveTemps];
}

/** `file` is a temporary of this process until untrackTemporary (renamed or removed). */
export function trackTemporary(file: string): void {
  liveTemps.add(file);
}

export function untrackTemporary(file: string): void {
  liveTemps.delete(file);
}
