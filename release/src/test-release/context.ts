/**
 * What every step of `npm run test:release` shares: the release under test (its version and folder),
 * whether the harness part is left out, and the progress lines and counted checks of the run.
 */
import path from 'node:path';
import { REPO_ROOT, sourceVersion } from '../versions.ts';

const started = Date.now();
export const version = sourceVersion();
export const out = path.join(REPO_ROOT, 'dist/release', version);
export const noCluster = process.argv.includes('--no-cluster');
let checks = 0;

/** Seconds since the run started. */
export function elapsedSeconds(): string {
  return ((Date.now() - started) / 1000).toFixed(0);
}
/** How many checks passed so far. */
export function checksRun(): number {
  return checks;
}
export function step(line: string) {
  process.stderr.write(`[test:release ${elapsedSeconds()}s] ${line}\n`);
}
export function check(ok: unknown, what: string): void {
  checks++;
  if (!ok) throw new Error(what);
}
