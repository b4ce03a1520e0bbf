/**
 * followRestoreLogs: which pod it follows, when it moves on, waits or stops, with the fake API calls
 * (__testUtils__/fakeCluster.ts) and client-node's Log replaced by scripted streams. Following a real
 * pod's log: test/e2e kubectl.test.ts (`kubectl restore logs -f`).
 */
import type { Writable } from 'node:stream';
import { parseRestoreRequest } from '@kube-restore/common';
import { ApiException } from '@kubernetes/client-node';
import { followRestoreLogs } from './logs';
import { buildRestoreManifests } from './manifests';
import { FakeCluster } from './__testUtils__/fakeCluster';

/** What each pod's log stream does when followed: chunks then end, an error, or never end. */
type Script =
  { chunks: string[] } | { error: unknown } | { hang: true; chunks: string[] };
const mockScripts: Record<string, Script[]> = {};
const mockFollowed: Array<{ pod: string; container: string; options: any }> =
  [];
const mockAborted: string[] = [];

jest.mock('@kubernetes/client-node', () => ({
  ...jest.requireActual('@kubernetes/client-node'),
  Log: jest.fn().mockImplementation(() => ({
    async log(
      _namespace: string,
      pod: string,
      container: string,
      sink: Writable,
      options: unknown,
    ) {
      mockFollowed.push({ pod, container, options });
      const script = mockScripts[pod]?.shift();
      if (!script) throw new Error(`no script for ${pod}`);
      if ('error' in script) throw script.error;
      for (const chunk of script.chunks) sink.write(chunk);
      if (!('hang' in script)) sink.end();
      const controller = new AbortController();
      controller.signal.addEventListener('abort', () => mockAborted.push(pod));
      return controller;
    },
  })),
}));

const request = parseRestoreRequest({
  source: { bucket: 'datasets', prefix: 'team-a/' },
  target: { namespace: 'team-a', pvc: 'data', size: '1Gi' },
});
const { job, name: NAME } = buildRestoreManifests(request);

let cluster: FakeCluster;
beforeEach(() => {
  cluster = new FakeCluster();
  cluster.put('jobs', job);
  mockFollowed.length = 0;
  mockAborted.length = 0;
  for (const k of Object.keys(mockScripts)) delete mockScripts[k];
});

function setPods(...pods: Array<[string, string]>) {
  cluster.pods = pods.map(([name, phase], i) => ({
    metadata: {
      name,
      namespace: 'team-a',
      creationTimestamp: new Date(Date.UTC(2026, 10, 20, 9, i)),
      labels: { 'kube-restore.io/restore': NAME },
    },
    status: { phase },
  }));
}

function finishJob(type: 'Complete' | 'Failed') {
  const stored = cluster.get('jobs', 'team-a', NAME);
  stored.status = { conditions: [{ type, status: 'True' }] };
}

async function follow(options: Parameters<typeof followRestoreLogs>[4] = {}) {
  const lines: string[] = [];
  const pods: string[] = [];
  await followRestoreLogs(
    cluster.clients(),
    'team-a',
    NAME,
    line => lines.push(line),
    { pollIntervalMs: 0, onPod: pod => pods.push(pod), ...options },
  );
  return { lines, pods };
}

describe('followRestoreLogs', () => {
  it('streams the pod log line by line (lines split across chunks) and returns once the restore ended', async () => {
    setPods(['p1', 'Succeeded']);
    finishJob('Complete');
    mockScripts.p1 = [{ chunks: ['one\ntw', 'o\nthree'] }];
    const { lines, pods } = await follow({ tailLines: 5 });
    expect(lines).toEqual(['one', 'two', 'three']);
    expect(pods).toEqual(['p1']);
    expect(mockFollowed).toEqual([
      {
        pod: 'p1',
        container: 'restore',
        options: { follow: true, tailLines: 5 },
      },
    ]);
  });

  it('moves on to the next pod when the Job retries, the tail applying to the first pod only', async () => {
    setPods(['p1', 'Running']);
    mockScripts.p1 = [{ chunks: ['attempt 1\n'] }];
    mockScripts.p2 = [{ chunks: ['attempt 2\n'] }];
    cluster.onCall = call => {
      // p1's stream has ended: the Job made p2, which then succeeded
      if (call.method === 'readJob' && mockFollowed.length === 1) {
        setPods(['p1', 'Failed'], ['p2', 'Succeeded']);
        finishJob('Complete');
      }
    };
    const { lines, pods } = await follow({ tailLines: 5 });
    expect(pods).toEqual(['p1', 'p2']);
    expect(lines).toEqual(['attempt 1', 'attempt 2']);
    expect(mockFollowed.map(f => f.options)).toEqual([
      { follow: true, tailLines: 5 },
      { follow: true },
    ]);
  });

  it('follows the newest pod only, not older attempts after it', async () => {
    setPods(['p1', 'Failed'], ['p2', 'Succeeded']);
    finishJob('Complete');
    mockScripts.p1 = [{ chunks: ['old\n'] }];
    mockScripts.p2 = [{ chunks: ['new\n'] }];
    const { lines, pods } = await follow();
    expect(pods).toEqual(['p2']);
    expect(lines).toEqual(['new']);
  });

  it('waits while the restore has no pod, and while its container has not started (400)', async () => {
    let reads = 0;
    cluster.onCall = call => {
      if (call.method !== 'readJob') return;
      reads++;
      if (reads === 2) setPods(['p1', 'Pending']);
      if (reads === 4) {
        setPods(['p1', 'Succeeded']);
        finishJob('Complete');
      }
    };
    mockScripts.p1 = [
      {
        error: new ApiException(400, 'container "restore" is waiting', {}, {}),
      },
      { chunks: ['started\n'] },
    ];
    const { lines } = await follow();
    expect(lines).toEqual(['started']);
    expect(reads).toBeGreaterThanOrEqual(4);
  });

  it('a refused log read is a RestoreError naming the pod', async () => {
    setPods(['p1', 'Running']);
    mockScripts.p1 = [
      { error: new ApiException(403, 'forbidden', { message: 'no' }, {}) },
    ];
    await expect(follow()).rejects.toMatchObject({
      kind: 'Forbidden',
      message: expect.stringMatching(
        /^forbidden: this identity may not get pods\/log in namespace team-a/,
      ),
    });
  });

  it('stops following when the signal aborts, and aborts the stream', async () => {
    setPods(['p1', 'Running']);
    const controller = new AbortController();
    mockScripts.p1 = [{ hang: true, chunks: ['working\n'] }];
    const lines: string[] = [];
    const following = followRestoreLogs(
      cluster.clients(),
      'team-a',
      NAME,
      line => {
        lines.push(line);
        controller.abort();
      },
      { pollIntervalMs: 0, signal: controller.signal },
    );
    await following;
    expect(lines).toEqual(['working']);
    expect(mockAborted).toEqual(['p1']);
  });

  it('an unknown restore is NotFound', async () => {
    await expect(
      followRestoreLogs(cluster.clients(), 'team-a', 'nope', () => undefined),
    ).rejects.toMatchObject({ kind: 'NotFound' });
  });
});
