/**
 * Step 5: against the harness (KUBECONFIG, AWS_*, KUBE_RESTORE_S3_ENDPOINT from `npm run -s cluster:up`):
 * `kubectl restore create --wait` with the standalone executable on the PATH step 3 made. Left out
 * with --no-cluster.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { REPO_ROOT } from '../versions.ts';
import { check, noCluster, step } from './context.ts';
import { sh } from './tools.ts';

export async function checkAgainstHarness(tmp: string): Promise<void> {
  if (noCluster) {
    step(
      '5. NOT RUN (--no-cluster): kubectl restore create --wait against the harness',
    );
    return;
  }
  const missing = [
    'KUBECONFIG',
    'KUBE_RESTORE_S3_ENDPOINT',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
  ].filter(k => !process.env[k]);
  check(
    missing.length === 0,
    `5. needs the harness: ${missing.join(', ')} unset. Run \`eval "$(npm run -s cluster:up)"\` first, or pass --no-cluster`,
  );
  step(
    '5. against the harness: the demo dataset, then kubectl restore create --wait',
  );
  // The harness's demo data: s3://datasets/demo/ (scripts/demo-data.mjs, deterministic).
  sh(process.execPath, [path.join(REPO_ROOT, 'scripts/demo-data.mjs')], {
    cwd: REPO_ROOT,
  });
  const bin = path.join(tmp, 'path');
  const env = {
    PATH: bin,
    HOME: tmp,
    // alice edits team-a: a user restoring with her own identity, as the README's tour.
    KUBECONFIG: process.env.KUBECONFIG_ALICE ?? process.env.KUBECONFIG,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
  };
  const name = `release-${crypto.randomBytes(3).toString('hex')}`;
  const result = sh(
    path.join(bin, 'kubectl'),
    [
      'restore',
      'create',
      name,
      '--from',
      's3://datasets/demo/',
      '--to',
      `pvc/${name}`,
      '-n',
      'team-a',
      '--size',
      '1Gi',
      '--endpoint',
      process.env.KUBE_RESTORE_S3_ENDPOINT!,
      '--credentials-from-env',
      '--wait',
    ],
    { env },
  );
  step(`   ${result.trim().split('\n').slice(-1)[0]}`);
  const status = JSON.parse(
    sh(
      path.join(bin, 'kubectl'),
      ['restore', 'status', name, '-n', 'team-a', '-o', 'json'],
      {
        env,
      },
    ),
  );
  check(
    JSON.stringify(status).includes('"Succeeded"'),
    `kubectl restore status ${name}: not Succeeded: ${JSON.stringify(status).slice(0, 500)}`,
  );
  sh(
    path.join(bin, 'kubectl'),
    ['restore', 'delete', name, '-n', 'team-a', '--keep-pvc=false'],
    {
      env,
    },
  );
}
