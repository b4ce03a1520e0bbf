// npm run test:release [-- --no-cluster]: proves dist/release/<version>/ (npm run release) outside the
// workspace. Exits 1 on the first failed check, naming it.
//   1. SHA256SUMS, and the krew manifest's sha256 recomputed from the archives (release copy and
//      deploy/krew/restore.yaml);
//   2. the npm tarballs: versions, their dependencies on one another, entry points inside, Backstage
//      publishConfig applied (no src/ entry point), config.schema.json (from config.d.ts), migrations,
//      openapi.yaml, README;
//   3. the standalone kubectl executable from the linux-amd64 archive with no Node on PATH:
//      `kubectl-restore version` and `kubectl restore version` (real kubectl, PATH of kubectl and the
//      plugin only); the arm64 one by structure (AArch64 ELF, fuse set, the same blob as amd64);
//   4. in a fresh temporary project with no workspace links: the tarballs plus their public
//      dependencies from the registry, a minimal Backstage backend (createBackend + the plugin) that
//      starts and answers GET /api/restore/health, and tsc on a consumer of the frontend's root and
//      ./alpha;
//   5. against the harness (KUBECONFIG, AWS_*, KUBE_RESTORE_S3_ENDPOINT from `npm run -s cluster:up`):
//      `kubectl restore create --wait` with the standalone executable, and 6. one restore through the
//      installed backend plugin (with the catalog). --no-cluster leaves 5 and 6 out and says so;
//      without the environment and without the flag, it fails naming what is missing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkBackendRestore } from './test-release/backendRestore.ts';
import { checkFolder } from './test-release/checksums.ts';
import {
  checksRun,
  elapsedSeconds,
  noCluster,
  step,
} from './test-release/context.ts';
import { checkExecutables } from './test-release/executables.ts';
import { checkAgainstHarness } from './test-release/harnessRestore.ts';
import { checkImageAndManifests } from './test-release/imageAndManifests.ts';
import { checkOutsideWorkspace } from './test-release/outsideWorkspace.ts';
import { checkTarballs } from './test-release/tarballs.ts';

// Each step is a module of test-release/; they run in order, sharing one temporary directory (step 3's
// PATH and step 4's project are used again by steps 5 and 6).
async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-test-release-'));
  try {
    checkFolder();
    checkImageAndManifests();
    checkTarballs(tmp);
    checkExecutables(tmp);
    await checkOutsideWorkspace(tmp);
    await checkAgainstHarness(tmp);
    await checkBackendRestore(tmp);
    step(
      `PASS: ${checksRun()} checks in ${elapsedSeconds()} s${noCluster ? ' (without the harness part)' : ''}`,
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch(error => {
  step(`FAIL: ${(error as Error).message}`);
  process.exit(1);
});
