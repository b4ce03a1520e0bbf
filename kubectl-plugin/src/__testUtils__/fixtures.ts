/** Statuses as core derives them, for rendering tests. */
import type { RestoreStatus } from '@kube-restore/common';

export const NOW = new Date('2026-11-21T12:00:00Z');

export const restoring: RestoreStatus = {
  name: 'restore-data-1a2b3c4d',
  namespace: 'team-a',
  phase: 'Restoring',
  pvc: 'data',
  source: 's3://backups/team-a/data/',
  createdAt: '2026-11-21T11:58:00Z',
  startedAt: '2026-11-21T11:58:05Z',
  durationSeconds: 115,
  progress: {
    objectsDone: 1204,
    objectsTotal: 3000,
    objectsSkipped: 0,
    bytesDone: 1288490188,
    bytesTotal: 3221225472,
    bytesPerSecond: 57671680,
    etaSeconds: 33,
  },
  attempts: 1,
  failedAttempts: 0,
  pods: ['restore-data-1a2b3c4d-x7k2p'],
  requester: 'alice',
  ttlSecondsAfterFinished: 86400,
};

export const succeeded: RestoreStatus = {
  name: 'restore-db-9f8e7d6c',
  namespace: 'team-a',
  phase: 'Succeeded',
  pvc: 'db',
  source: 'http://127.0.0.1:9000/backups/db.tar.gz',
  createdAt: '2026-11-20T09:00:00Z',
  startedAt: '2026-11-20T09:00:02Z',
  finishedAt: '2026-11-20T09:03:30Z',
  durationSeconds: 208,
  result: {
    objects: 5120,
    objectsSkipped: 3,
    bytes: 10737418240,
    durationMs: 206000,
    manifest: '.kube-restore/manifest.jsonl',
  },
  attempts: 1,
  failedAttempts: 0,
  pods: ['restore-db-9f8e7d6c-abcde'],
  requester: 'bob',
  ttlSecondsAfterFinished: 86400,
};

export const failed: RestoreStatus = {
  name: 'restore-logs-00aa11bb',
  namespace: 'team-b',
  phase: 'Failed',
  pvc: 'logs',
  source: 's3://backups/team-b/logs/',
  createdAt: '2026-11-21T10:00:00Z',
  startedAt: '2026-11-21T10:00:01Z',
  finishedAt: '2026-11-21T10:00:09Z',
  durationSeconds: 8,
  error: {
    code: 'ACCESS_DENIED',
    message:
      'the credentials may not read s3://backups/team-b/logs/ (AccessDenied)',
  },
  attempts: 1,
  failedAttempts: 1,
  pods: ['restore-logs-00aa11bb-q1w2e'],
  ttlSecondsAfterFinished: 86400,
};

export const pending: RestoreStatus = {
  name: 'restore-cache-55667788',
  namespace: 'team-a',
  phase: 'Pending',
  pvc: 'cache',
  source: 's3://backups/team-a/cache/',
  createdAt: '2026-11-21T11:59:30Z',
  durationSeconds: 30,
  waitingReason: 'CreateContainerConfigError: secret "s3-creds" not found',
  attempts: 1,
  failedAttempts: 0,
  pods: ['restore-cache-55667788-zzzzz'],
};

/** A restore the populator runs for PVC data (RestoreSource seed), with the populator's part filled in. */
export const populating: RestoreStatus & {
  populator: { pvc: string; restoreSource?: string };
} = {
  ...restoring,
  name: 'prime-0f3a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
  pvc: 'prime-0f3a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
  requester: 'populator for team-a/data',
  pods: ['prime-0f3a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b-k8s2m'],
  populator: { pvc: 'data', restoreSource: 'seed' },
};
