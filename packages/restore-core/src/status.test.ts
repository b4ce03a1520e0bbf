import type { V1Job, V1Pod } from '@kubernetes/client-node';
import {
  encodeProgressLine,
  encodeTerminationMessage,
  parseJobOutputLine,
  parseRestoreRequest,
  ProgressLine,
} from '@kube-restore/common';
import { buildRestoreManifests } from './manifests';
import { deriveRestoreStatus } from './status';

const request = parseRestoreRequest({
  name: 'r1',
  source: { bucket: 'datasets', prefix: 'a/' },
  target: { namespace: 'team-a', pvc: 'data', size: '1Gi' },
});
const now = new Date('2026-11-21T02:00:00Z');

function job(
  status: V1Job['status'] = {},
  spec: Partial<V1Job['spec']> = {},
): V1Job {
  const built = buildRestoreManifests(request).job;
  return {
    ...built,
    metadata: {
      ...built.metadata,
      creationTimestamp: new Date('2026-11-21T01:00:00Z'),
    },
    spec: { ...built.spec!, ...spec },
    status,
  };
}

function pod(
  name: string,
  created: string,
  state: Record<string, unknown>,
  phase: string,
): V1Pod {
  return {
    metadata: {
      name,
      namespace: 'team-a',
      creationTimestamp: new Date(created),
    },
    status: {
      phase,
      containerStatuses: [
        {
          name: 'restore',
          state,
          ready: false,
          restartCount: 0,
          image: 'x',
          imageID: '',
        },
      ],
    },
  } as V1Pod;
}

const progress = (p: Partial<ProgressLine>): ProgressLine => {
  const parsed = parseJobOutputLine(
    encodeProgressLine(
      { phase: 'Restoring', objectsDone: 0, bytesDone: 0, ...p } as never,
      now,
    ),
  );
  if (parsed.type !== 'progress') throw new Error('bad progress');
  return parsed.line;
};

describe('deriveRestoreStatus', () => {
  it('is Pending with the reason while the container cannot start', () => {
    const status = deriveRestoreStatus({
      job: job({ startTime: new Date('2026-11-21T01:00:01Z') }),
      pods: [
        pod(
          'r1-a',
          '2026-11-21T01:00:01Z',
          {
            waiting: {
              reason: 'CreateContainerConfigError',
              message: 'secret "s3" not found',
            },
          },
          'Pending',
        ),
      ],
      now,
    });
    expect(status).toMatchObject({
      name: 'r1',
      namespace: 'team-a',
      phase: 'Pending',
      pvc: 'data',
      source: 's3://datasets/a/',
      waitingReason: 'CreateContainerConfigError: secret "s3" not found',
      attempts: 1,
      failedAttempts: 0,
      durationSeconds: 3599,
    });
  });

  it('takes phase and progress from the running pod, Planning before its first line', () => {
    const running = pod(
      'r1-a',
      '2026-11-21T01:00:01Z',
      { running: { startedAt: new Date() } },
      'Running',
    );
    expect(
      deriveRestoreStatus({ job: job(), pods: [running], now }).phase,
    ).toBe('Planning');
    const status = deriveRestoreStatus({
      job: job(),
      pods: [running],
      progressByPod: {
        'r1-a': progress({
          phase: 'Restoring',
          objectsDone: 3,
          objectsTotal: 9,
          bytesDone: 30,
          bytesTotal: 90,
          bytesPerSecond: 10,
          etaSeconds: 6,
        }),
      },
      now,
    });
    expect(status.phase).toBe('Restoring');
    expect(status.progress).toEqual({
      objectsDone: 3,
      objectsTotal: 9,
      objectsSkipped: 0,
      bytesDone: 30,
      bytesTotal: 90,
      bytesPerSecond: 10,
      etaSeconds: 6,
    });
  });

  it('sums shards and reports the least advanced phase', () => {
    const a = pod('r1-0', '2026-11-21T01:00:01Z', { running: {} }, 'Running');
    const b = pod('r1-1', '2026-11-21T01:00:02Z', { running: {} }, 'Running');
    const status = deriveRestoreStatus({
      job: job(),
      pods: [a, b],
      progressByPod: {
        'r1-0': progress({
          phase: 'Verifying',
          objectsDone: 5,
          objectsTotal: 5,
          bytesDone: 50,
          bytesTotal: 50,
          bytesPerSecond: 0,
          etaSeconds: 0,
        }),
        'r1-1': progress({
          phase: 'Restoring',
          objectsDone: 1,
          objectsTotal: 4,
          bytesDone: 10,
          bytesTotal: 40,
          bytesPerSecond: 5,
          etaSeconds: 6,
        }),
      },
      now,
    });
    expect(status.phase).toBe('Restoring');
    expect(status.progress).toMatchObject({
      objectsDone: 6,
      objectsTotal: 9,
      bytesDone: 60,
      bytesTotal: 90,
      bytesPerSecond: 5,
      etaSeconds: 6,
    });
  });

  it('is Succeeded with the result from the termination message', () => {
    const message = encodeTerminationMessage({
      phase: 'Succeeded',
      objects: 10,
      objectsSkipped: 2,
      bytes: 1000,
      durationMs: 1500,
      manifest: '.kube-restore/manifest.jsonl',
    });
    const status = deriveRestoreStatus({
      job: job({
        startTime: new Date('2026-11-21T01:00:00Z'),
        completionTime: new Date('2026-11-21T01:00:30Z'),
        conditions: [{ type: 'Complete', status: 'True' }],
      }),
      pods: [
        pod(
          'r1-a',
          '2026-11-21T01:00:01Z',
          { terminated: { exitCode: 0, reason: 'Completed', message } },
          'Succeeded',
        ),
      ],
      now,
    });
    expect(status).toMatchObject({
      phase: 'Succeeded',
      result: {
        objects: 10,
        objectsSkipped: 2,
        bytes: 1000,
        durationMs: 1500,
        manifest: '.kube-restore/manifest.jsonl',
      },
      durationSeconds: 30,
      finishedAt: '2026-11-21T01:00:30.000Z',
    });
    expect(status.error).toBeUndefined();
  });

  it('is Failed with the code and message of the fatal pod', () => {
    const message = encodeTerminationMessage({
      phase: 'Failed',
      code: 'UNSAFE_PATH',
      message: 'entry "../x" escapes the volume',
      entry: '../x',
    });
    const status = deriveRestoreStatus({
      job: job({
        conditions: [
          { type: 'Failed', status: 'True', reason: 'PodFailurePolicy' },
        ],
        failed: 1,
      }),
      pods: [
        pod(
          'r1-a',
          '2026-11-21T01:00:01Z',
          { terminated: { exitCode: 42, reason: 'Error', message } },
          'Failed',
        ),
      ],
      now,
    });
    expect(status).toMatchObject({
      phase: 'Failed',
      error: {
        code: 'UNSAFE_PATH',
        message: 'entry "../x" escapes the volume',
        entry: '../x',
      },
      failedAttempts: 1,
    });
  });

  it('treats a malformed message as a failure with the log tail', () => {
    const status = deriveRestoreStatus({
      job: job({
        conditions: [
          { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' },
        ],
        failed: 4,
      }),
      pods: [
        pod(
          'r1-a',
          '2026-11-21T01:00:01Z',
          {
            terminated: {
              exitCode: 134,
              reason: 'Error',
              message: 'Aborted',
            },
          },
          'Failed',
        ),
      ],
      now,
    });
    expect(status.phase).toBe('Failed');
    expect(status.error).toEqual({
      code: 'BACKOFF_LIMIT_EXCEEDED',
      message: 'failed 4 times; last: exit code 134: Aborted',
    });
  });

  it('says in plain words that a pod was killed at its memory limit, while retrying and at the end', () => {
    const oom = pod(
      'r1-a',
      '2026-11-21T01:00:01Z',
      // FallbackToLogsOnError puts the log tail where the message would be
      {
        terminated: {
          exitCode: 137,
          reason: 'OOMKilled',
          message: '{"level":"info"}',
        },
      },
      'Failed',
    );
    const retrying = deriveRestoreStatus({
      job: job({ failed: 1, active: 1 }),
      pods: [oom],
      now,
    });
    expect(retrying.error).toEqual({
      code: 'OUT_OF_MEMORY',
      message: expect.stringMatching(
        /^the restore pod was killed at its memory limit \(OOMKilled\).*\(exit code 137\)$/,
      ),
    });
    const ended = deriveRestoreStatus({
      job: job({
        conditions: [
          { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' },
        ],
        failed: 4,
      }),
      pods: [oom],
      now,
    });
    expect(ended.phase).toBe('Failed');
    // a coded failure keeps its code when the retries run out
    expect(ended.error?.code).toBe('OUT_OF_MEMORY');
  });

  it('names the deadline when the Job ran out of time', () => {
    const status = deriveRestoreStatus({
      job: job(
        {
          conditions: [
            { type: 'Failed', status: 'True', reason: 'DeadlineExceeded' },
          ],
        },
        { activeDeadlineSeconds: 600 },
      ),
      pods: [],
      now,
    });
    expect(status.error).toEqual({
      code: 'DEADLINE_EXCEEDED',
      message: 'the restore ran past its deadline of 600s',
    });
  });

  it("keeps the last attempt's error visible while a retry runs", () => {
    const failed = encodeTerminationMessage({
      phase: 'Failed',
      code: 'NETWORK',
      message: 'connection reset',
    });
    const status = deriveRestoreStatus({
      job: job({ failed: 1 }),
      pods: [
        pod(
          'r1-a',
          '2026-11-21T01:00:01Z',
          { terminated: { exitCode: 1, reason: 'Error', message: failed } },
          'Failed',
        ),
        pod('r1-b', '2026-11-21T01:00:20Z', { running: {} }, 'Running'),
      ],
      now,
    });
    expect(status).toMatchObject({
      phase: 'Planning',
      error: { code: 'NETWORK' },
      attempts: 2,
      failedAttempts: 1,
    });
  });

  it("does not fall back to Pending between a pod's success and the Job's Complete condition", () => {
    const message = encodeTerminationMessage({
      phase: 'Succeeded',
      objects: 1,
      bytes: 1,
    });
    const status = deriveRestoreStatus({
      job: job({ succeeded: 1 }),
      pods: [
        pod(
          'r1-a',
          '2026-11-21T01:00:01Z',
          { terminated: { exitCode: 0, reason: 'Completed', message } },
          'Succeeded',
        ),
      ],
      now,
    });
    expect(status.phase).toBe('Verifying');
  });

  it('says a suspended Job is waiting', () => {
    expect(
      deriveRestoreStatus({ job: job({}, { suspend: true }), pods: [], now })
        .waitingReason,
    ).toBe('the Job is suspended');
  });
});
