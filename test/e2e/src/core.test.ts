/*
 * @kube-restore/core on the real harness cluster (test/cluster): kube-apiserver with RBAC and Pod
 * Security `restricted`, the Job and garbage-collector controllers, the local kubelet running
 * job-image/dist/restore-job.cjs, and MinIO. What rbac.test.ts proves as the operator (create, status,
 * logs, delete with its PVC) is not repeated here; this file proves listing and its selection, watching
 * (through a kube-apiserver restart and a 410 Gone), what delete keeps, and an endpoint behind a
 * private CA (source.caBundle: ConfigMap -> mounted file -> AWS_CA_BUNDLE in the pod).
 * A missing prerequisite fails the suite; nothing is skipped.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ANNOTATION_CREATED_BY,
  RESTORE_PHASES,
  RestoreOptions,
  RestoreStatus,
  canonicalJson,
  isTerminalPhase,
  parseRestoreRequest,
} from '@kube-restore/common';
import {
  KubeClients,
  RestoreError,
  WatchEventType,
  createRestore,
  deleteRestore,
  getRestore,
  listRestores,
  watchRestore,
  watchResumable,
} from '@kube-restore/core';
import {
  Cluster,
  jobManifest,
  restrictedPodSpec,
} from '@kube-restore/test-cluster';
import {
  clientsFrom,
  eventually,
  restoreEnd,
  s3Keys,
  seedBucket,
  startClusterWithJobProgram,
} from './__testUtils__/harness';
import { TlsProxy, startTlsProxy } from './__testUtils__/tlsProxy';

jest.setTimeout(180_000);

const BUCKET = 'core-e2e';
const SMALL: Record<string, string> = {
  'data/a.txt': 'alpha\n',
  'data/sub/b.txt': 'beta\n',
};
/** 30 small objects under shards/, for a sharded restore. */
const SHARDED: Record<string, string> = Object.fromEntries(
  Array.from({ length: 30 }, (_, i) => [
    `shards/${String(i).padStart(2, '0')}.txt`,
    `shard object ${i}\n`,
  ]),
);
/** 3 MiB under slow/: with a bandwidth limit, a restore that stays Restoring for a while. */
const SLOW_PARTS = 3;
const MiB = 1024 * 1024;
const slowPart = (i: number) => Buffer.alloc(MiB, String(i));

let cluster: Cluster;
let admin: KubeClients;
let alice: KubeClients;

function request(
  name: string,
  namespace: string,
  source: { prefix: string } | { key: string } | { slow: true } = {
    prefix: 'data/',
  },
  options: Partial<RestoreOptions> = {},
) {
  return parseRestoreRequest({
    name,
    source: {
      endpoint: cluster.s3!.endpoint,
      region: cluster.s3!.region,
      bucket: BUCKET,
      ...('slow' in source ? { prefix: 'slow/' } : source),
    },
    target: { namespace, pvc: `${name}-data`, size: '1Gi' },
    options,
  });
}

const create = (clients: KubeClients, ...args: Parameters<typeof request>) =>
  createRestore(clients, request(...args), {
    credentials: s3Keys(cluster),
    requester: 'core-e2e',
  });

const finished = (namespace: string, name: string) =>
  restoreEnd(admin, namespace, name, 120_000);

async function failure(promise: Promise<unknown>): Promise<RestoreError> {
  const error = await promise.then(
    () => undefined,
    e => e,
  );
  expect(error).toBeInstanceOf(RestoreError);
  return error as RestoreError;
}

/** Everything a watcher saw, with when it saw it. */
interface Seen {
  status: RestoreStatus;
  at: number;
}

/**
 * A watch's updates are legal when phases never go backwards, one terminal status ends them, and no
 * update repeats the one before it (the elapsed time aside).
 */
function expectLegalSequence(seen: Seen[], terminal: 'Succeeded' | 'Failed') {
  const phases = seen.map(s => s.status.phase);
  const order = (p: string) => RESTORE_PHASES.indexOf(p as any);
  expect(
    phases.filter((p, i) => i > 0 && order(p) < order(phases[i - 1])),
  ).toEqual([]);
  expect(phases.filter(p => isTerminalPhase(p))).toEqual([terminal]);
  expect(phases.at(-1)).toBe(terminal);
  const keys = seen.map(({ status }) => {
    const { durationSeconds: _d, ...rest } = status;
    return canonicalJson(rest);
  });
  expect(keys.filter((k, i) => i > 0 && k === keys[i - 1])).toEqual([]);
}

async function restoreObjects(namespace: string, name: string) {
  const [jobs, pods, secrets] = await Promise.all([
    admin.batch.listNamespacedJob({
      namespace,
      labelSelector: `kube-restore.io/restore=${name}`,
    }),
    admin.core.listNamespacedPod({
      namespace,
      labelSelector: `kube-restore.io/restore=${name}`,
    }),
    admin.core.listNamespacedSecret({
      namespace,
      fieldSelector: `metadata.name=${name}-credentials`,
    }),
  ]);
  return {
    jobs: jobs.items.length,
    pods: pods.items.length,
    secrets: secrets.items.length,
  };
}

beforeAll(async () => {
  cluster = await startClusterWithJobProgram();
  admin = clientsFrom(cluster.kubeconfig.admin);
  alice = clientsFrom(cluster.kubeconfig.alice);
  const slow: Record<string, Buffer> = {};
  for (let i = 0; i < SLOW_PARTS; i++) slow[`slow/part-${i}.bin`] = slowPart(i);
  await seedBucket(cluster, BUCKET, { ...SMALL, ...slow, ...SHARDED });
}, 30 * 60_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe('createRestore, getRestore and listRestores', () => {
  beforeAll(async () => {
    await create(admin, 'list-a1', 'team-a');
    await create(admin, 'list-a2', 'team-a');
    await create(admin, 'list-b1', 'team-b');
    // A Job that is not a restore, in the same namespace (its image is not on the nodes: it never starts).
    await admin.batch.createNamespacedJob({
      namespace: 'team-a',
      body: jobManifest(
        'not-a-restore',
        restrictedPodSpec({ image: 'docker.io/library/busybox:1.36' }),
      ),
    });
    await admin.batch.patchNamespacedJob(
      {
        namespace: 'team-a',
        name: 'list-a2',
        body: [{ op: 'add', path: '/metadata/labels/tier', value: 'gold' }],
      },
      undefined,
    );
  }, 60_000);

  it('createRestore makes the PVC, the Job and a Secret the Job owns; getRestore reads it to Succeeded', async () => {
    const [job, pvc, secret] = await Promise.all([
      admin.batch.readNamespacedJob({ namespace: 'team-a', name: 'list-a1' }),
      admin.core.readNamespacedPersistentVolumeClaim({
        namespace: 'team-a',
        name: 'list-a1-data',
      }),
      admin.core.readNamespacedSecret({
        namespace: 'team-a',
        name: 'list-a1-credentials',
      }),
    ]);
    expect(pvc.metadata?.annotations?.[ANNOTATION_CREATED_BY]).toBe('list-a1');
    expect(secret.metadata?.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'Job',
        name: 'list-a1',
        uid: job.metadata?.uid,
        controller: true,
      }),
    ]);
    const status = await finished('team-a', 'list-a1');
    expect(status).toMatchObject({
      name: 'list-a1',
      namespace: 'team-a',
      phase: 'Succeeded',
      pvc: 'list-a1-data',
      source: `${cluster.s3!.endpoint}/${BUCKET}/data/`,
      requester: 'core-e2e',
      result: { objects: 2, objectsSkipped: 0, bytes: 11 },
    });
    expect(status.error).toBeUndefined();
    const volume = await cluster.pvcPath('team-a', 'list-a1-data');
    expect(fs.readFileSync(path.join(volume, 'sub', 'b.txt'), 'utf8')).toBe(
      'beta\n',
    );
  });

  it('lists the restores of one namespace, none of another, and no Job that is not a restore', async () => {
    const names = (list: RestoreStatus[]) =>
      list.map(s => `${s.namespace}/${s.name}`);
    const inA = await listRestores(admin, { namespace: 'team-a' });
    expect(names(inA).sort()).toEqual(['team-a/list-a1', 'team-a/list-a2']);
    // Newest first, then by name.
    expect(names(inA)).toEqual(
      names(
        [...inA].sort(
          (a, b) =>
            (b.createdAt ?? '').localeCompare(a.createdAt ?? '') ||
            a.name.localeCompare(b.name),
        ),
      ),
    );
    expect(names(await listRestores(admin, { namespace: 'team-b' }))).toEqual([
      'team-b/list-b1',
    ]);
    expect(names(await listRestores(admin)).sort()).toEqual([
      'team-a/list-a1',
      'team-a/list-a2',
      'team-b/list-b1',
    ]);
  });

  it('ANDs a label selector with its own', async () => {
    const names = async (namespace: string | undefined, selector: string) =>
      (await listRestores(admin, { namespace, labelSelector: selector }))
        .map(s => s.name)
        .sort();
    expect(await names('team-a', 'tier=gold')).toEqual(['list-a2']);
    expect(await names(undefined, 'tier=gold')).toEqual(['list-a2']);
    expect(
      await names('team-a', 'kube-restore.io/restore in (list-a1,list-b1)'),
    ).toEqual(['list-a1']);
    expect(await names(undefined, 'tier!=gold')).toEqual([
      'list-a1',
      'list-b1',
    ]);
    // The Job that is not a restore matches `test`, but not kube-restore's own selector.
    expect(await names('team-a', 'test')).toEqual([]);
  });

  it('reads progress from the logs of running pods only when asked', async () => {
    const ns = 'core-progress';
    await cluster.createNamespace(ns);
    await create(
      admin,
      'list-progress',
      ns,
      { slow: true },
      {
        bandwidth: '64Ki',
      },
    );
    try {
      const [withProgress] = await eventually(
        'a running restore with progress',
        async () => {
          const list = await listRestores(admin, {
            namespace: ns,
            progress: true,
          });
          return list[0]?.phase === 'Restoring' &&
            (list[0].progress?.bytesDone ?? 0) > 0
            ? list
            : undefined;
        },
      );
      expect(withProgress.progress).toMatchObject({
        objectsTotal: SLOW_PARTS,
        bytesTotal: SLOW_PARTS * MiB,
      });
      // Without `progress` no pod log is read: a running pod is Planning and has no progress.
      const [plain] = await listRestores(admin, { namespace: ns });
      expect([plain.name, plain.phase, plain.progress]).toEqual([
        'list-progress',
        'Planning',
        undefined,
      ]);
    } finally {
      await deleteRestore(admin, ns, 'list-progress', { deletePvc: true });
    }
  });

  it("lists as alice in her namespace; another namespace or all of them is core's Forbidden", async () => {
    expect(
      (await listRestores(alice, { namespace: 'team-a' }))
        .map(s => s.name)
        .sort(),
    ).toEqual(['list-a1', 'list-a2']);
    const inB = await failure(listRestores(alice, { namespace: 'team-b' }));
    expect(inB.kind).toBe('Forbidden');
    expect(inB.message).toMatch(/list jobs\.batch in namespace team-b/);
    const all = await failure(listRestores(alice));
    expect(all.kind).toBe('Forbidden');
  });

  it('getRestore of a Job that is not a restore, or of none, is NotFound', async () => {
    const notOurs = await failure(getRestore(admin, 'team-a', 'not-a-restore'));
    expect([notOurs.kind, notOurs.message]).toEqual([
      'NotFound',
      'Job "not-a-restore" in namespace team-a is not a kube-restore restore',
    ]);
    const none = await failure(getRestore(admin, 'team-b', 'list-a1'));
    expect([none.kind, none.message]).toEqual([
      'NotFound',
      'restore "list-a1" not found in namespace team-b',
    ]);
  });

  it('the same request again is the same restore; another request under that name is a Conflict', async () => {
    const again = await create(admin, 'list-b1', 'team-b');
    expect(again.created).toBe(false);
    expect(again.status.name).toBe('list-b1');
    const other = await failure(
      create(admin, 'list-b1', 'team-b', { key: 'data/a.txt' }),
    );
    expect(other.kind).toBe('Conflict');
    expect(
      (await listRestores(admin, { namespace: 'team-b' })).map(s => s.name),
    ).toEqual(['list-b1']);
  });
});

describe('a sharded restore', () => {
  it('createRestore lists the source once and gives the Job shard bounds; each shard restores its range', async () => {
    await create(
      admin,
      'sharded',
      'team-a',
      { prefix: 'shards/' },
      {
        parallelism: 3,
      },
    );
    const job = await admin.batch.readNamespacedJob({
      namespace: 'team-a',
      name: 'sharded',
    });
    const carried = parseRestoreRequest(
      JSON.parse(job.metadata!.annotations!['kube-restore.io/request']),
    );
    const bounds = carried.shards!.bounds;
    expect(bounds).toHaveLength(2);
    const status = await finished('team-a', 'sharded');
    expect(status.error).toBeUndefined();
    expect(status).toMatchObject({
      phase: 'Succeeded',
      result: { objects: 30 },
    });
    const volume = await cluster.pvcPath('team-a', 'sharded-data');
    expect(fs.readdirSync(volume).filter(f => f.endsWith('.txt'))).toHaveLength(
      30,
    );
    // Each shard wrote exactly the keys of its range, in its own manifest.
    const keys = Object.keys(SHARDED).sort();
    const ranges = [
      keys.filter(k => k <= bounds[0]),
      keys.filter(k => k > bounds[0] && k <= bounds[1]),
      keys.filter(k => k > bounds[1]),
    ];
    for (const [i, range] of ranges.entries()) {
      const manifest = fs
        .readFileSync(
          path.join(volume, '.kube-restore', `manifest-${i}-of-3.jsonl`),
          'utf8',
        )
        .split('\n')
        .filter(Boolean)
        .map(line => JSON.parse(line))
        .filter(line => line.type === 'object')
        .map(line => line.key)
        .sort();
      expect(manifest).toEqual(range);
    }
    // The same request again is the same restore, whatever a new listing would choose.
    const again = await create(
      admin,
      'sharded',
      'team-a',
      { prefix: 'shards/' },
      {
        parallelism: 3,
      },
    );
    expect(again.created).toBe(false);
  });
});

describe('watchRestore', () => {
  /** Runs the watch to its end, calling `during` with each update. */
  async function watchAll(
    namespace: string,
    name: string,
    during: (s: RestoreStatus) => void = () => {},
  ): Promise<Seen[]> {
    const seen: Seen[] = [];
    const signal = AbortSignal.timeout(150_000);
    for await (const status of watchRestore(admin, namespace, name, {
      signal,
      pollIntervalMs: 250,
    })) {
      seen.push({ status, at: Date.now() });
      during(status);
    }
    return seen;
  }

  it('follows a restore from its first status to Succeeded: phases only move forward, no update twice', async () => {
    await create(
      admin,
      'watch-plain',
      'team-a',
      { slow: true },
      {
        bandwidth: '2Mi',
      },
    );
    const seen = await watchAll('team-a', 'watch-plain');
    expectLegalSequence(seen, 'Succeeded');
    const phases = seen.map(s => s.status.phase);
    expect(phases).toContain('Restoring');
    // Progress moves forward while Restoring.
    const done = seen
      .filter(s => s.status.phase === 'Restoring' && s.status.progress)
      .map(s => s.status.progress!.bytesDone);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(seen.at(-1)!.status.result).toMatchObject({
      objects: SLOW_PARTS,
      bytes: SLOW_PARTS * MiB,
    });
  });

  it('survives a kube-apiserver restart mid-restore and still sees Succeeded', async () => {
    await create(
      admin,
      'watch-restart',
      'team-a',
      { slow: true },
      {
        bandwidth: '256Ki',
      },
    );
    let restart: Promise<void> | undefined;
    let stoppedAt = 0;
    let restartedIn: string | undefined;
    const before = cluster.pids().apiserver;
    const seen = await watchAll('team-a', 'watch-restart', status => {
      if (!restart && status.phase === 'Restoring') {
        restartedIn = status.phase;
        restart = cluster.restartApiServer({
          onStopped: () => {
            stoppedAt = Date.now();
          },
        });
      }
    });
    await restart;
    expect(restartedIn).toBe('Restoring');
    expect(cluster.pids().apiserver).not.toBe(before);
    // The watcher lived through the outage: the end reached it after the old kube-apiserver had
    // exited, so only the new one can have told it. (Not "after restartApiServer resolved": the
    // watcher can hear from the new server before the harness's readiness poll comes round.)
    expect(stoppedAt).toBeGreaterThan(0);
    expect(seen.at(-1)!.at).toBeGreaterThan(stoppedAt);
    expectLegalSequence(seen, 'Succeeded');
    const volume = await cluster.pvcPath('team-a', 'watch-restart-data');
    for (let i = 0; i < SLOW_PARTS; i++)
      expect(
        fs.readFileSync(path.join(volume, `part-${i}.bin`)).equals(slowPart(i)),
      ).toBe(true);
  });

  it('ends with NotFound when the restore is deleted while it is watched', async () => {
    await create(
      admin,
      'watch-deleted',
      'team-a',
      { slow: true },
      {
        bandwidth: '64Ki',
      },
    );
    const seen: RestoreStatus[] = [];
    let deleted = false;
    const error = await failure(
      (async () => {
        for await (const status of watchRestore(
          admin,
          'team-a',
          'watch-deleted',
          { signal: AbortSignal.timeout(120_000), pollIntervalMs: 250 },
        )) {
          seen.push(status);
          if (status.phase === 'Restoring' && !deleted) {
            deleted = true;
            await deleteRestore(admin, 'team-a', 'watch-deleted');
          }
        }
      })(),
    );
    expect([error.kind, error.message]).toEqual([
      'NotFound',
      'restore "watch-deleted" not found in namespace team-a',
    ]);
    expect(deleted).toBe(true);
    expect(seen.map(s => s.phase)).toContain('Restoring');
    expect(seen.filter(s => isTerminalPhase(s.phase))).toEqual([]);
  });
});

describe('watchResumable on the real API server', () => {
  const NS = 'core-watch';
  interface Event {
    type: WatchEventType;
    name?: string;
    resourceVersion?: string;
  }

  function startWatch(list: () => Promise<string>) {
    const events: Event[] = [];
    const controller = new AbortController();
    const done = watchResumable(admin.kc, {
      path: `/api/v1/namespaces/${NS}/configmaps`,
      list,
      signal: controller.signal,
      maxBackoffMs: 500,
      onEvent: (type, object) => {
        const meta = (
          object as
            | { metadata?: { name?: string; resourceVersion?: string } }
            | undefined
        )?.metadata;
        events.push({
          type,
          name: meta?.name,
          resourceVersion: meta?.resourceVersion,
        });
      },
    });
    return {
      events,
      added: () =>
        events.filter(e => e.type === 'ADDED').map(e => e.name as string),
      stop: async () => {
        controller.abort();
        await done;
      },
    };
  }

  const listVersion = async () =>
    (await admin.core.listNamespacedConfigMap({ namespace: NS })).metadata!
      .resourceVersion!;

  const createConfigMap = (name: string) =>
    admin.core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name }, data: { n: name } },
    });

  beforeAll(async () => {
    await cluster.createNamespace(NS);
    // The root CA publisher adds kube-root-ca.crt to a new namespace whenever it gets to it; once
    // there it is in every list, so a watch started later sees only the tests' own ConfigMaps.
    await eventually('kube-root-ca.crt in the new namespace', async () =>
      (await admin.core.listNamespacedConfigMap({ namespace: NS })).items.some(
        c => c.metadata?.name === 'kube-root-ca.crt',
      )
        ? true
        : undefined,
    );
  });

  it('resumes from its resourceVersion after a kube-apiserver restart: nothing twice, nothing after it missed', async () => {
    const watch = startWatch(listVersion);
    try {
      // Changes after the first list are delivered; wait for it.
      await eventually('the first list', async () =>
        watch.events.length > 0 ? true : undefined,
      );
      await createConfigMap('before-restart');
      await eventually('the first ConfigMap', async () =>
        watch.added().includes('before-restart') ? true : undefined,
      );
      await cluster.restartApiServer();
      await createConfigMap('after-restart');
      await eventually(
        'the ConfigMap made after the restart',
        async () =>
          watch.added().includes('after-restart') ? true : undefined,
        30_000,
      );
    } finally {
      await watch.stop();
    }
    // Each change once, in order. (The new kube-apiserver's watch cache starts at the current etcd
    // revision, so resuming usually meets 410 Gone and re-lists: at most one RELISTED more.)
    expect(
      watch.events
        .filter(e => e.type !== 'RELISTED')
        .map(e => `${e.type} ${e.name}`),
    ).toEqual(['ADDED before-restart', 'ADDED after-restart']);
    expect(watch.events[0].type).toBe('RELISTED');
    expect(
      watch.events.filter(e => e.type === 'RELISTED').length,
    ).toBeLessThanOrEqual(2);
    const versions = watch.events
      .filter(e => e.type !== 'RELISTED' && e.type !== 'BOOKMARK')
      .map(e => Number(e.resourceVersion));
    expect(versions).toEqual([...new Set(versions)].sort((a, b) => a - b));
  });

  it('re-lists on 410 Gone when its resourceVersion is too old, then delivers new events', async () => {
    let lists = 0;
    const watch = startWatch(async () => {
      lists++;
      // The first list answers a long-compacted version, as a watcher resuming after a long outage has.
      return lists === 1 ? '1' : listVersion();
    });
    try {
      await eventually('a second list after 410 Gone', async () =>
        watch.events.filter(e => e.type === 'RELISTED').length >= 2
          ? true
          : undefined,
      );
      await createConfigMap('after-gone');
      await eventually('the ConfigMap made after the re-list', async () =>
        watch.added().includes('after-gone') ? true : undefined,
      );
    } finally {
      await watch.stop();
    }
    expect(lists).toBe(2);
    expect(watch.events[0].type).toBe('RELISTED');
    // Nothing from the stale version was delivered: the ConfigMaps made earlier are not replayed.
    expect(watch.added()).toEqual(['after-gone']);
  });
});

describe('deleteRestore', () => {
  it('removes the Job, its pods and its Secret, and keeps the PVC with its data', async () => {
    await finished('team-a', 'list-a1');
    expect(await restoreObjects('team-a', 'list-a1')).toEqual({
      jobs: 1,
      pods: 1,
      secrets: 1,
    });
    const volume = await cluster.pvcPath('team-a', 'list-a1-data');
    expect(await deleteRestore(admin, 'team-a', 'list-a1')).toEqual({
      job: 'list-a1',
    });
    await eventually('the Job, its pods and its Secret to go', async () => {
      const left = await restoreObjects('team-a', 'list-a1');
      return left.jobs + left.pods + left.secrets === 0 ? true : undefined;
    });
    const pvc = await admin.core.readNamespacedPersistentVolumeClaim({
      namespace: 'team-a',
      name: 'list-a1-data',
    });
    expect(pvc.metadata?.deletionTimestamp).toBeUndefined();
    expect(fs.readFileSync(path.join(volume, 'a.txt'), 'utf8')).toBe('alpha\n');
    expect((await failure(getRestore(admin, 'team-a', 'list-a1'))).kind).toBe(
      'NotFound',
    );
    expect(
      (await listRestores(admin, { namespace: 'team-a' })).map(s => s.name),
    ).not.toContain('list-a1');
  });

  it('deletes the PVC it created when asked', async () => {
    await finished('team-a', 'list-a2');
    expect(
      await deleteRestore(admin, 'team-a', 'list-a2', { deletePvc: true }),
    ).toEqual({ job: 'list-a2', pvc: 'list-a2-data' });
    await eventually('the PVC to go', async () => {
      const pvcs = await admin.core.listNamespacedPersistentVolumeClaim({
        namespace: 'team-a',
        fieldSelector: 'metadata.name=list-a2-data',
      });
      return pvcs.items.length === 0 ? true : undefined;
    });
  });

  it('refuses to delete a Job that kube-restore did not create, and leaves it', async () => {
    const error = await failure(
      deleteRestore(admin, 'team-a', 'not-a-restore'),
    );
    expect([error.kind, error.message]).toEqual([
      'Conflict',
      'Job "not-a-restore" in namespace team-a was not created by kube-restore; not deleting it',
    ]);
    await expect(
      admin.batch.readNamespacedJob({
        namespace: 'team-a',
        name: 'not-a-restore',
      }),
    ).resolves.toMatchObject({ metadata: { name: 'not-a-restore' } });
  });
});

describe('an S3 endpoint behind a private CA', () => {
  const NS = 'core-tls';
  let proxy: TlsProxy;
  let tmp: string;

  const tlsRequest = (name: string, caBundle?: { configMap: string }) =>
    parseRestoreRequest({
      name,
      source: {
        endpoint: proxy.endpoint,
        region: cluster.s3!.region,
        bucket: BUCKET,
        prefix: 'data/',
        ...(caBundle ? { caBundle } : {}),
      },
      target: { namespace: NS, pvc: `${name}-data`, size: '1Gi' },
      options: { backoffLimit: 2 },
    });

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kube-restore-core-tls-'));
    proxy = await startTlsProxy(cluster.s3!.endpoint, tmp);
    await cluster.createNamespace(NS);
    await admin.core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: 's3-ca' }, data: { 'ca.crt': proxy.ca } },
    });
  });

  afterAll(async () => {
    await proxy?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('with source.caBundle the pod trusts the endpoint and the restore succeeds', async () => {
    await createRestore(
      admin,
      tlsRequest('tls-trusted', { configMap: 's3-ca' }),
      {
        credentials: s3Keys(cluster),
      },
    );
    const status = await finished(NS, 'tls-trusted');
    expect({ phase: status.phase, error: status.error }).toEqual({
      phase: 'Succeeded',
      error: undefined,
    });
    expect(proxy.connections()).toBeGreaterThan(0);
    const volume = await cluster.pvcPath(NS, 'tls-trusted-data');
    expect(fs.readFileSync(path.join(volume, 'a.txt'), 'utf8')).toBe('alpha\n');
  });

  it('without it the restore fails at once with UNTRUSTED_CERTIFICATE, in one attempt', async () => {
    await createRestore(admin, tlsRequest('tls-untrusted'), {
      credentials: s3Keys(cluster),
    });
    const status = await finished(NS, 'tls-untrusted');
    expect(status.phase).toBe('Failed');
    expect(status.error?.code).toBe('UNTRUSTED_CERTIFICATE');
    expect(status.error?.message).toMatch(/source\.caBundle/);
    // The fatal exit code ends the Job through its podFailurePolicy: no retries despite backoffLimit 2.
    expect(status.attempts).toBe(1);
  });
});
