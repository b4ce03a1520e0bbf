/** @kube-restore/job: the restore-job program, and its parts for tests and benchmarks. */
export { main } from './main';
export { runRestore } from './run';
export type { RunOptions, RunOutcome } from './run';
export { RestoreError, classifyError, redact } from './errors';
export { normalizeEntryPath, PathRegistry, SafeRoot } from './paths';
export { writeFileAtomically } from './writeFileAtomically';
export { S3ObjectsSource } from './sources/objects';
export { TarArchiveSource } from './sources/tar';
export { extractTar, sniffArchive } from './sources/extract';
