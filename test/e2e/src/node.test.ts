/*
 * What only a real node can show: restores run by core on the harness's two real nodes (kubelet,
 * containerd, runc), in containers of the job image, into volumes of the local-path provisioner.
 *   - a new PVC: files written by uid 65532 under a read-only root, with the owners and modes asked;
 *   - an existing PVC that holds an application's data: the kubelet changes no ownership, and
 *     skip-existing leaves the application's directory and files as they were;
 *   - the memory limit: a pod killed at it reads as OUT_OF_MEMORY, and is retried;
 *   - shards into a ReadWriteOnce volume all run on the volume's node and finish.
 * A missing prerequisite fails the suite; nothing is skipped.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseRestoreRequest } from '@kube-restore/common';
import { KubeClients, createRestore, getRestore } from '@kube-restore/core';
import {
  Cluster,
  jobManifest,
  podsOfJob,
  pvcManifest,
  restrictedPodSpec,
  waitForJobFinished,
} from '@kube-restore/test-cluster';
import {
  REPO_ROOT,
  clientsFrom,
  eventually,
  restoreEnd,
  s3Keys,
  seedBucket,
  startClusterWithJobProgram,
} from './__testUtils__/harness';

jest.setTimeout(240_000);

const BUCKET = 'node-e2e';
const FILES: Record<string, string> = {
  'data/a.txt': 'alpha\n',
  'data/sub/b.txt': 'beta\n',
  'data/keep.txt': 'from the backup\n',
};

/**
 * A backup whose keep.txt the volume already holds (the user's), first in the order the job takes
 * (largest first; first in the archive), then parts slow enough at 128Ki/s to kill a pod among them.
 */
const KEEP_OBJECTS: Record<string, Buffer> = {
  'keep/keep.txt': Buffer.alloc(320 * 1024, 'B'),
  ...Object.fromEntries(
    Array.from({ length: 4 }, (_, i) => [
      `keep/part-${i}.bin`,
      Buffer.alloc(256 * 1024, String(i)),
    ]),
  ),
};

/** A plain ustar archive of `files` with `strip` removed from their names. */
function tarOf(files: Record<string, Buffer>, strip: string): Buffer {
  const blocks: Buffer[] = [];
  for (const [key, body] of Object.entries(files)) {
    const header = Buffer.alloc(512);
    header.write(key.slice(strip.length), 0, 'utf8');
    header.write('0000644\0', 100, 'latin1');
    header.write('0000000\0', 108, 'latin1');
    header.write('0000000\0', 116, 'latin1');
    header.write(
      `${body.length.toString(8).padStart(11, '0')}\0`,
      124,
      'latin1',
    );
    header.write('00000000000\0', 136, 'latin1');
    header.fill(' ', 148, 156);
    header.write('0', 156, 'latin1');
    header.write('ustar\0', 257, 'latin1');
    header.write('00', 263, 'latin1');
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

let cluster: Cluster;
let admin: KubeClients;

beforeAll(async () => {
  cluster = await startClusterWithJobProgram();
  admin = clientsFrom(cluster.kubeconfig.admin);
  const shards: Record<string, string> = {};
  for (let i = 0; i < 8; i++) shards[`shards/f${i}.txt`] = `shard file ${i}\n`;
  const slow: Record<string, Buffer> = {};
  for (let i = 0; i < 4; i++)
    slow[`slow/part-${i}.bin`] = Buffer.alloc(256 * 1024, String(i));
  await seedBucket(cluster, BUCKET, {
    ...FILES,
    ...shards,
    ...slow,
    ...KEEP_OBJECTS,
    'keep.tar': tarOf(KEEP_OBJECTS, 'keep/'),
  });
}, 30 * 60_000);

afterAll(async () => {
  await cluster?.stop();
}, 120_000);

function request(
  name: string,
  target: Record<string, unknown>,
  options: Record<string, unknown> = {},
  prefix = 'data/',
) {
  return parseRestoreRequest({
    name,
    source: {
      endpoint: cluster.s3!.endpoint,
      region: cluster.s3!.region,
      bucket: BUCKET,
      prefix,
    },
    target: { namespace: 'team-a', ...target },
    options,
  });
}

const finished = (name: string) => restoreEnd(admin, 'team-a', name);

function stat(file: string) {
  const st = fs.lstatSync(file);
  return { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
}

it('writes a new PVC as uid 65532 under a read-only root, with the owners and modes asked for', async () => {
  await createRestore(
    admin,
    request(
      'owned',
      { pvc: 'owned-data', size: '1Gi' },
      { owner: { uid: 1000, gid: 1001, fileMode: '0640', dirMode: '0750' } },
    ),
    { credentials: s3Keys(cluster) },
  );
  const status = await finished('owned');
  expect(status.error).toBeUndefined();
  expect(status.phase).toBe('Succeeded');
  const dir = await cluster.pvcPath('team-a', 'owned-data');
  expect(fs.readFileSync(path.join(dir, 'sub', 'b.txt'), 'utf8')).toBe(
    'beta\n',
  );
  expect(stat(path.join(dir, 'a.txt'))).toEqual({
    uid: 1000,
    gid: 1001,
    mode: 0o640,
  });
  expect(stat(path.join(dir, 'sub'))).toEqual({
    uid: 1000,
    gid: 1001,
    mode: 0o750,
  });
  // the pod ran as asked, with the volume given to its group by the kubelet (fsGroup on a new PVC)
  const job = await admin.batch.readNamespacedJob({
    namespace: 'team-a',
    name: 'owned',
  });
  expect(job.spec?.template.spec?.securityContext).toMatchObject({
    runAsUser: 1000,
    runAsGroup: 1001,
    fsGroup: 1001,
  });
  expect(
    job.spec?.template.spec?.containers[0].securityContext
      ?.readOnlyRootFilesystem,
  ).toBe(true);
});

it("leaves an existing PVC's application data (owner 999, mode 0700) as it was with skip-existing", async () => {
  // an application's PVC, bound by a first pod (WaitForFirstConsumer), then filled the way an
  // application running as uid 999 would have filled it
  await cluster.admin.post(
    '/api/v1/namespaces/team-a/persistentvolumeclaims',
    pvcManifest('app-data'),
  );
  await cluster.admin.post(
    '/apis/batch/v1/namespaces/team-a/jobs',
    jobManifest(
      'app',
      restrictedPodSpec({ pvc: 'app-data', stub: ['--print', 'bound'] }),
    ),
  );
  expect((await waitForJobFinished(cluster.admin, 'team-a', 'app')).type).toBe(
    'Complete',
  );
  const dir = await cluster.pvcPath('team-a', 'app-data');
  const appDir = path.join(dir, 'db');
  fs.mkdirSync(appDir);
  fs.writeFileSync(path.join(appDir, 'table.dat'), 'rows');
  fs.writeFileSync(path.join(dir, 'keep.txt'), 'the application wrote this\n');
  for (const p of [
    appDir,
    path.join(appDir, 'table.dat'),
    path.join(dir, 'keep.txt'),
  ])
    fs.chownSync(p, 999, 999);
  fs.chmodSync(appDir, 0o700);
  fs.chmodSync(path.join(appDir, 'table.dat'), 0o600);
  fs.chmodSync(path.join(dir, 'keep.txt'), 0o644);
  const before = {
    db: stat(appDir),
    table: stat(path.join(appDir, 'table.dat')),
    keep: stat(path.join(dir, 'keep.txt')),
  };

  await createRestore(
    admin,
    request('into-app', {
      pvc: 'app-data',
      mode: 'existing',
      conflict: 'skip-existing',
    }),
    { credentials: s3Keys(cluster) },
  );
  const status = await finished('into-app');
  expect(status.error).toBeUndefined();
  expect(status.phase).toBe('Succeeded');
  // the restore's files are there, the application's are untouched: owner, group, mode, content
  expect(fs.readFileSync(path.join(dir, 'a.txt'), 'utf8')).toBe('alpha\n');
  expect(fs.readFileSync(path.join(dir, 'keep.txt'), 'utf8')).toBe(
    'the application wrote this\n',
  );
  expect({
    db: stat(appDir),
    table: stat(path.join(appDir, 'table.dat')),
    keep: stat(path.join(dir, 'keep.txt')),
  }).toEqual(before);
  expect(fs.readFileSync(path.join(appDir, 'table.dat'), 'utf8')).toBe('rows');
  const job = await admin.batch.readNamespacedJob({
    namespace: 'team-a',
    name: 'into-app',
  });
  expect(job.spec?.template.spec?.securityContext?.fsGroup).toBeUndefined();
});

it('reads a pod killed at its memory limit as OUT_OF_MEMORY, and retries it', async () => {
  await createRestore(
    admin,
    request('oom', { pvc: 'oom-data', size: '1Gi' }, { backoffLimit: 1 }),
    {
      credentials: s3Keys(cluster),
      // below what Node needs to start: the kernel kills it at the cgroup's limit
      resources: { requests: { memory: '16Mi' }, limits: { memory: '16Mi' } },
    },
  );
  const status = await finished('oom');
  expect(status.phase).toBe('Failed');
  expect(status.error?.code).toBe('OUT_OF_MEMORY');
  expect(status.error?.message).toMatch(
    /killed at its memory limit \(OOMKilled\)/,
  );
  // retryable: the Job ran a second pod before giving up
  const pods = await podsOfJob(cluster.admin, 'team-a', 'oom');
  expect(pods).toHaveLength(2);
  for (const p of pods)
    expect(p.status.containerStatuses[0].state.terminated.reason).toBe(
      'OOMKilled',
    );
  // what a person sees
  const kubectl = spawnSync(
    process.execPath,
    [
      path.join(REPO_ROOT, 'kubectl-plugin', 'bin', 'kubectl-restore'),
      'status',
      'oom',
      '-n',
      'team-a',
    ],
    {
      env: { ...process.env, KUBECONFIG: cluster.kubeconfig.admin },
      encoding: 'utf8',
    },
  );
  const said = `${kubectl.stdout}${kubectl.stderr}`;
  expect(said).toMatch(/OUT_OF_MEMORY/);
  expect(said).toMatch(/killed at its memory limit \(OOMKilled\)/);
});

it('runs the shards of a restore into a ReadWriteOnce PVC on the one node that holds it', async () => {
  expect(cluster.nodes).toHaveLength(2);
  await createRestore(
    admin,
    request(
      'sharded',
      { pvc: 'sharded-data', size: '1Gi' },
      { parallelism: 3 },
      'shards/',
    ),
    { credentials: s3Keys(cluster) },
  );
  const status = await finished('sharded');
  expect(status.error).toBeUndefined();
  expect(status.phase).toBe('Succeeded');
  const pods = await podsOfJob(cluster.admin, 'team-a', 'sharded');
  const nodes = new Set(pods.map(p => p.spec.nodeName));
  expect(nodes.size).toBe(1);
  const dir = await cluster.pvcPath('team-a', 'sharded-data');
  expect(
    fs
      .readdirSync(dir)
      .filter(f => f.endsWith('.txt'))
      .sort(),
  ).toEqual(Array.from({ length: 8 }, (_, i) => `f${i}.txt`));
});

it('retries a pod killed mid-restore, and the retry resumes without fetching what was verified', async () => {
  await createRestore(
    admin,
    request(
      'killed',
      { pvc: 'killed-data', size: '1Gi' },
      { bandwidth: '128Ki', concurrency: 1 },
      'slow/',
    ),
    { credentials: s3Keys(cluster) },
  );
  // wait until the first pod has written at least one object, then delete that pod
  const first = await eventually('a pod with an object done', async () => {
    const s = await getRestore(admin, 'team-a', 'killed', { progress: true });
    return (s.progress?.objectsDone ?? 0) >= 1 ? s.pods[0] : undefined;
  });
  await cluster.admin.delete(`/api/v1/namespaces/team-a/pods/${first}`);
  const status = await finished('killed');
  expect(status.error).toBeUndefined();
  expect(status.phase).toBe('Succeeded');
  // the second attempt says it resumed, and skipped what the first had verified
  const pods = await podsOfJob(cluster.admin, 'team-a', 'killed');
  // the deleted pod is gone; the one left is the Job's replacement
  const second = pods.find((p: any) => p.metadata.name !== first);
  expect(second).toBeDefined();
  const log: string = await cluster.admin.get(
    `/api/v1/namespaces/team-a/pods/${second.metadata.name}/log`,
    { raw: true },
  );
  expect(log).toMatch(/resuming an earlier attempt/);
  expect(status.result?.objectsSkipped ?? 0).toBeGreaterThanOrEqual(1);
  const dir = await cluster.pvcPath('team-a', 'killed-data');
  for (let i = 0; i < 4; i++)
    expect(fs.readFileSync(path.join(dir, `part-${i}.bin`))).toEqual(
      Buffer.alloc(256 * 1024, String(i)),
    );
});

it.each([
  ['objects', { prefix: 'keep/' }],
  ['tar', { key: 'keep.tar' }],
])(
  "skip-existing across a pod killed mid-restore (%s): the retry resumes and keep.txt is still the user's",
  async (mode, source) => {
    // the user's PVC, bound by a first pod (WaitForFirstConsumer), holding the user's keep.txt
    const pvc = `keep-${mode}`;
    await cluster.admin.post(
      '/api/v1/namespaces/team-a/persistentvolumeclaims',
      pvcManifest(pvc),
    );
    await cluster.admin.post(
      '/apis/batch/v1/namespaces/team-a/jobs',
      jobManifest(
        `bind-${pvc}`,
        restrictedPodSpec({ pvc, stub: ['--print', 'bound'] }),
      ),
    );
    expect(
      (await waitForJobFinished(cluster.admin, 'team-a', `bind-${pvc}`)).type,
    ).toBe('Complete');
    const dir = await cluster.pvcPath('team-a', pvc);
    const users = 'the user wrote this, not the backup\n';
    fs.writeFileSync(path.join(dir, 'keep.txt'), users);

    const name = `keep-killed-${mode}`;
    await createRestore(
      admin,
      parseRestoreRequest({
        name,
        source: {
          endpoint: cluster.s3!.endpoint,
          region: cluster.s3!.region,
          bucket: BUCKET,
          ...source,
        },
        target: {
          namespace: 'team-a',
          pvc,
          mode: 'existing',
          conflict: 'skip-existing',
        },
        options: { bandwidth: '128Ki', concurrency: 1 },
      }),
      { credentials: s3Keys(cluster) },
    );
    // attempt 1 has written at least one part (and passed keep.txt by): kill its pod
    const first = await eventually('a pod with a part written', async () => {
      const s = await getRestore(admin, 'team-a', name, { progress: true });
      const done = fs.readdirSync(dir).some(f => /^part-\d\.bin$/.test(f));
      return done && (s.progress?.objectsDone ?? 0) >= 1
        ? s.pods[0]
        : undefined;
    });
    expect(fs.readFileSync(path.join(dir, 'keep.txt'), 'utf8')).toBe(users);
    await cluster.admin.delete(`/api/v1/namespaces/team-a/pods/${first}`);
    const status = await finished(name);
    expect(status.error).toBeUndefined();
    expect(status.phase).toBe('Succeeded');
    // a second pod did the rest, as a resume
    const pods = await podsOfJob(cluster.admin, 'team-a', name);
    const second = pods.find((p: any) => p.metadata.name !== first);
    expect(second).toBeDefined();
    const log: string = await cluster.admin.get(
      `/api/v1/namespaces/team-a/pods/${second.metadata.name}/log`,
      { raw: true },
    );
    expect(log).toMatch(/resuming an earlier attempt/);
    // the user's file is the user's bytes; the backup's other files are all there
    expect(fs.readFileSync(path.join(dir, 'keep.txt'), 'utf8')).toBe(users);
    for (let i = 0; i < 4; i++)
      expect(fs.readFileSync(path.join(dir, `part-${i}.bin`))).toEqual(
        Buffer.alloc(256 * 1024, String(i)),
      );
  },
);
