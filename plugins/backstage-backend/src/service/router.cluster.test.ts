/*
 * The plugin on the real harness: kube-apiserver with RBAC and Pod Security, the Job controller, the local
 * kubelet running job-image/dist/restore-job.cjs, and MinIO. The backend acts as the restore-operator
 * ServiceAccount with the RBAC and admission policies of deploy/, team-a opted in with deploy/rbac/opt-in. A missing prerequisite fails this file; nothing is skipped.
 * Backstage's parts are real too (__testUtils__/backstage.ts): the catalog backend reads the users and groups
 * of __testUtils__/catalog.people.yaml and the components of catalog.cluster.yaml, the permission backend decides with the example
 * portal's owners policy, and the notifications backend delivers to the users of the recipient groups.
 * One file over 400 lines on purpose: every suite file would start its own harness (minutes each).
 */
import {
  CreateBucketCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { mockCredentials } from '@backstage/backend-test-utils';
import { JsonObject } from '@backstage/types';
import { Cluster, startCluster } from '@kube-restore/test-cluster';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { restorePlugin } from '../plugin';
import {
  ALICE,
  BOB,
  CAROL,
  DAVE,
  notificationsOf,
} from '../__testUtils__/backstage';
import { recordingAuditor, recordingLogger } from '../__testUtils__/fakes';
import {
  AdminKubectl,
  FILES,
  adminKubectl,
  harnessS3,
  installForTeams,
  localClusters,
  nightlySource,
  readTree,
  seedBackups,
  startClusterBackend,
} from '../__testUtils__/harness';

jest.setTimeout(180_000);

const REPO = path.resolve(__dirname, '../../../..');
const KUBECTL_RESTORE = path.join(
  REPO,
  'kubectl-plugin',
  'dist',
  'kubectl-restore.cjs',
);
const run = promisify(execFile);

let cluster: Cluster;
let token: string;
let kubectl: AdminKubectl;

beforeAll(async () => {
  // the nodes run the job image; startCluster() refuses one older than its sources
  cluster = await startCluster();
  if (!cluster.s3) throw new Error('the harness started without MinIO');
  kubectl = adminKubectl(cluster);
  // Each namespace admin opts in and names the catalog owners Backstage may restore for (deploy/README.md):
  // team-a consents to team-a; team-b consents to team-b only.
  token = await installForTeams(cluster, ['team-a', 'team-b']);
  await seedBackups(cluster, [
    'team-a/shop/data/',
    'team-a/shop/all/db/',
    'team-a/shop/all/cache/',
  ]);
}, 400_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

function config(existsBucket = 'backups'): JsonObject {
  return {
    kubeRestore: {
      clusters: localClusters(cluster, token),
      sources: [
        { ...nightlySource(cluster), archiveTiers: ['Expedited'] },
        {
          name: 'elsewhere',
          endpoint: cluster.s3!.endpoint,
          region: cluster.s3!.region,
          bucket: existsBucket,
          prefix: '${namespace}/',
          credentials: {
            accessKeyId: cluster.s3!.accessKeyId,
            secretAccessKey: cluster.s3!.secretAccessKey,
          },
        },
      ],
      exists: { source: 'elsewhere', template: '${namespace}/${pvc}/' },
      approval: {
        rules: [
          {
            name: 'fast-thaw',
            tiers: ['Expedited'],
            approvers: ['group:default/sre'],
          },
        ],
      },
      notifications: { enabled: true },
    },
  };
}

async function startBackend(data: JsonObject = config()) {
  const logs = recordingLogger();
  const audit = recordingAuditor();
  const { backend, stop } = await startClusterBackend({
    features: [restorePlugin, logs.factory, audit.factory],
    data,
    entities: [
      ALICE,
      BOB,
      CAROL,
      DAVE,
      'group:default/sre',
      'component:default/shop',
      'component:default/intruder',
      'component:default/stranger',
    ],
  });
  return {
    backend,
    /** Stops the backend and closes its databases (see sqliteFile). */
    stop,
    server: backend.server,
    logs: logs.lines,
    audit: audit.events,
    /** What the notifications backend holds for `user`. */
    notified: (user: string) => notificationsOf(backend.server, user),
  };
}

const as = (user: string) => mockCredentials.user.header(user);
/** Whether `value` matches `expected` as toEqual would (asymmetric matchers included). */
const isMatch = (value: unknown, expected: unknown) => {
  try {
    expect(value).toEqual(expected);
    return true;
  } catch {
    return false;
  }
};

/** Polls `user`'s notifications until one matches `expected` (toEqual's matchers), for up to 10 s. */
async function notification(
  s: { notified: (user: string) => Promise<unknown[]> },
  user: string,
  expected: unknown,
) {
  let received: unknown[] = [];
  for (let i = 0; i < 100; i++) {
    received = await s.notified(user);
    if (received.some(n => isMatch(n, expected))) break;
    await new Promise(resolve => setTimeout(resolve, 100));
  }
  return received;
}

function sseEvents(text: string): { event: string; data: any }[] {
  return text
    .split('\n\n')
    .filter(block => block.startsWith('event: '))
    .map(block => {
      const [eventLine, dataLine] = block.split('\n');
      return {
        event: eventLine.slice('event: '.length),
        data: JSON.parse(dataLine.slice('data: '.length)),
      };
    });
}

async function jobsIn(namespace: string): Promise<string[]> {
  const list = await cluster.admin.get(
    `/apis/batch/v1/namespaces/${namespace}/jobs`,
  );
  return list.items.map((j: any) => j.metadata.name);
}

describe('restore backend on a real cluster', () => {
  let s: Awaited<ReturnType<typeof startBackend>>;
  beforeAll(async () => {
    s = await startBackend();
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('an owner plans, creates and follows the SSE stream to Succeeded; the files are in the PVC', async () => {
    const body = {
      entityRef: 'component:default/shop',
      source: { name: 'nightly', path: 'data/' },
      target: { pvc: 'shop-data' },
    };
    const plan = await request(s.server)
      .post('/api/restore/plan')
      .set('Authorization', as(ALICE))
      .send(body);
    expect(plan.status).toBe(200);
    expect(plan.body).toMatchObject({
      namespace: 'team-a',
      cluster: 'local',
      size: { objects: 2, bytes: 18 },
      pvcSize: '1Gi',
      fits: true,
      approval: { required: false },
      quota: { ok: true },
      access: { allowed: true },
    });

    const created = await request(s.server)
      .post('/api/restore/restores')
      .set('Authorization', as(ALICE))
      .send(body);
    expect(created.status).toBe(201);
    expect(created.body.jobCreatedAt).toBeDefined();
    expect(await jobsIn('team-a')).toContain(created.body.name);

    const events = await request(s.server)
      .get(`/api/restore/restores/${created.body.id}/events`)
      .set('Authorization', as(ALICE));
    expect(events.status).toBe(200);
    const updates = sseEvents(events.text);
    expect(updates.at(-1)?.event).toBe('end');
    const statuses = updates.filter(u => u.event === 'status').map(u => u.data);
    expect(statuses.at(-1)).toMatchObject({ phase: 'Succeeded', bytes: 18 });

    expect(
      readTree(await cluster.pvcPath('team-a', 'shop-data')),
    ).toMatchObject(FILES);
    // The recorder (following the Job since it created it, not the SSE request) notifies the requester,
    // through the notifications backend: alice finds it among her notifications, and nobody else does.
    const succeeded = expect.objectContaining({
      user: ALICE,
      origin: 'plugin:restore',
      payload: expect.objectContaining({
        title: 'Restore into team-a/shop-data succeeded',
        description: expect.stringMatching(/2 objects/),
      }),
    });
    expect(await notification(s, ALICE, succeeded)).toContainEqual(succeeded);
    expect(await s.notified(DAVE)).not.toContainEqual(succeeded);

    const history = await request(s.server)
      .get(`/api/restore/restores?entityRef=component:default/shop`)
      .set('Authorization', as(ALICE));
    expect(history.body.items).toEqual([
      expect.objectContaining({
        id: created.body.id,
        phase: 'Succeeded',
        bytes: 18,
      }),
    ]);
    const logs = await request(s.server)
      .get(`/api/restore/restores/${created.body.id}/logs`)
      .set('Authorization', as(ALICE));
    expect(logs.status).toBe(200);
    expect(logs.body.log).toMatch(/Succeeded/);
    for (const secret of [token, cluster.s3!.secretAccessKey]) {
      expect(events.text + plan.text + history.text + logs.text).not.toContain(
        secret,
      );
      expect(s.logs.join('\n')).not.toContain(secret);
    }
  });

  it('a non-owner gets 403 and nothing is created in the cluster', async () => {
    const before = await jobsIn('team-a');
    const res = await request(s.server)
      .post('/api/restore/restores')
      .set('Authorization', as(BOB))
      .send({
        entityRef: 'component:default/shop',
        source: { name: 'nightly', path: 'data/' },
        target: { pvc: 'bob-data' },
      });
    expect(res.status).toBe(403);
    expect(await jobsIn('team-a')).toEqual(before);
    await expect(
      cluster.admin.get(
        '/api/v1/namespaces/team-a/persistentvolumeclaims/bob-data',
      ),
    ).rejects.toMatchObject({ statusCode: 404 });
  });

  it("on Backstage's permission framework (which allows services everything), a bot creates only for the owners config lists for it", async () => {
    const scoped = await startBackend({
      kubeRestore: {
        ...(config().kubeRestore as JsonObject),
        serviceAccess: {
          write: [
            { subject: 'external:ci-bot', owners: ['group:default/team-a'] },
            { subject: 'external:other-bot', owners: ['group:default/team-b'] },
          ],
        },
      },
    });
    const asBot = (subject: string) =>
      mockCredentials.service.header({
        onBehalfOf: mockCredentials.service(subject),
        targetPluginId: 'restore',
      });
    const body = (pvc: string) => ({
      entityRef: 'component:default/shop',
      source: { name: 'nightly', path: 'data/' },
      target: { pvc },
    });
    try {
      const before = await jobsIn('team-a');
      const refused = await request(scoped.server)
        .post('/api/restore/restores')
        .set('Authorization', asBot('external:other-bot'))
        .send(body('other-bot-data'));
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toMatch(
        /^service external:other-bot may not create restores for component:default\/shop: its owner group:default\/team-a is not among the owners kubeRestore\.serviceAccess\.write lists/,
      );
      expect(await jobsIn('team-a')).toEqual(before);

      const created = await request(scoped.server)
        .post('/api/restore/restores')
        .set('Authorization', asBot('external:ci-bot'))
        .send(body('ci-bot-data'));
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        requester: 'service:external:ci-bot',
      });
      expect((await jobsIn('team-a')).filter(j => !before.includes(j))).toEqual(
        [created.body.name],
      );
      const history = await request(scoped.server)
        .get('/api/restore/restores?entityRef=component:default/shop')
        .set('Authorization', as(ALICE));
      expect(history.body.items.map((r: { id: string }) => r.id)).toEqual([
        created.body.id,
      ]);
    } finally {
      await scoped.stop();
    }
  });

  it("an entity annotated with another team's namespace: 403 naming what its admin must do, plan says nothing, nothing created", async () => {
    const body = {
      entityRef: 'component:default/intruder',
      source: { name: 'nightly', path: 'data/' },
      target: { pvc: 'intruder-data', mode: 'new', size: '1Gi' },
    };
    const before = await jobsIn('team-b');
    for (const route of ['/api/restore/plan', '/api/restore/restores']) {
      const res = await request(s.server)
        .post(route)
        .set('Authorization', as(ALICE))
        .send(body);
      expect(res.status).toBe(403);
      expect(Object.keys(res.body)).toEqual(['error', 'request', 'response']);
      expect(res.body.error.message).toMatch(
        /^namespace team-b on cluster local does not allow Backstage restores for group:default\/team-a: a namespace admin of team-b .* annotate rolebinding kube-restore-operator --overwrite kube-restore\.io\/backstage-owners=group:default\/team-a/,
      );
    }
    expect(await jobsIn('team-b')).toEqual(before);
    await expect(
      cluster.admin.get(
        '/api/v1/namespaces/team-b/persistentvolumeclaims/intruder-data',
      ),
    ).rejects.toMatchObject({ statusCode: 404 });

    // A namespace that never opted in: the operator cannot even read whether a binding exists there (403
    // from the API server), and the answer is the same.
    await kubectl('create', 'namespace', 'team-c');
    const stranger = await request(s.server)
      .post('/api/restore/plan')
      .set('Authorization', as(ALICE))
      .send({ ...body, entityRef: 'component:default/stranger' });
    expect(stranger.status).toBe(403);
    expect(stranger.body.error.message).toMatch(
      /^namespace team-c on cluster local does not allow Backstage restores for group:default\/team-a: a namespace admin of team-c opts in/,
    );
    const list = await request(s.server)
      .get('/api/restore/restores?entityRef=component:default/intruder')
      .set('Authorization', as(ALICE));
    expect(list.body.items).toEqual([]);
  });

  it('the portal plans what `kubectl restore plan -o json` plans (the same core call), an existing PVC included', async () => {
    if (!fs.existsSync(KUBECTL_RESTORE))
      throw new Error(
        `${KUBECTL_RESTORE} is missing: build the plugin (npm run build -w kubectl-plugin)`,
      );
    // A PVC someone else made: a new restore into it is refused by both, for the same reason.
    await cluster.admin.post(
      '/api/v1/namespaces/team-a/persistentvolumeclaims',
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'their-data' },
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' } },
        },
      },
    );
    for (const mode of ['new', 'existing'] as const) {
      const portal = await request(s.server)
        .post('/api/restore/plan')
        .set('Authorization', as(ALICE))
        .send({
          entityRef: 'component:default/shop',
          source: { name: 'nightly', path: 'data/' },
          target: {
            pvc: 'their-data',
            mode,
            ...(mode === 'new' ? { size: '1Gi' } : {}),
          },
        });
      expect(portal.status).toBe(200);
      // kubectl as the same identity (the operator), on the same source
      const cli = await run(
        process.execPath,
        [
          KUBECTL_RESTORE,
          'plan',
          '--from',
          's3://backups/team-a/shop/data/',
          '--endpoint',
          cluster.s3!.endpoint,
          '--credentials-from-env',
          '--to',
          'pvc/their-data',
          ...(mode === 'new' ? ['--size', '1Gi'] : ['--existing-pvc']),
          '-n',
          'team-a',
          '-o',
          'json',
        ],
        {
          env: {
            ...process.env,
            KUBECONFIG: cluster.kubeconfig.operator,
            AWS_ACCESS_KEY_ID: cluster.s3!.accessKeyId,
            AWS_SECRET_ACCESS_KEY: cluster.s3!.secretAccessKey,
          },
        },
      ).catch((error: { stdout: string }) => ({ stdout: error.stdout })); // exit 5: the PVC is in the way
      const kubectlPlan = JSON.parse(cli.stdout);
      const shared = (p: any) => ({
        namespace: p.namespace,
        size: p.size,
        pvcSize: p.pvcSize,
        fits: p.fits,
        pvc: p.pvc,
        problems: p.problems,
      });
      expect(shared(portal.body)).toEqual(shared(kubectlPlan));
      expect(portal.body.access.checks).toEqual(kubectlPlan.access);
      expect(portal.body.pvc).toMatchObject({
        name: 'their-data',
        exists: true,
      });
      expect(
        portal.body.problems.includes(
          'PVC "their-data" already exists in namespace team-a; restore into it with --existing-pvc or choose another name',
        ),
      ).toBe(mode === 'new');
    }
  });

  it('approval holds the restore with nothing in the cluster, then releases it', async () => {
    const before = await jobsIn('team-a');
    const created = await request(s.server)
      .post('/api/restore/restores')
      .set('Authorization', as(ALICE))
      .send({
        entityRef: 'component:default/shop',
        source: { name: 'nightly', path: 'data/', archiveTier: 'Expedited' },
        target: { pvc: 'approved-data' },
      });
    expect(created.status).toBe(202);
    expect(created.body.phase).toBe('PendingApproval');
    expect(await jobsIn('team-a')).toEqual(before);
    await expect(
      cluster.admin.get(
        '/api/v1/namespaces/team-a/persistentvolumeclaims/approved-data',
      ),
    ).rejects.toMatchObject({ statusCode: 404 });

    // The approvers' group hears of it through the notifications backend, which finds sre's members in the
    // catalog; the requester and other teams do not.
    const needsApproval = expect.objectContaining({
      payload: expect.objectContaining({
        title: 'Restore into team-a/approved-data needs your approval',
      }),
    });
    expect(await notification(s, CAROL, needsApproval)).toContainEqual(
      needsApproval,
    );
    expect(await notification(s, DAVE, needsApproval)).toContainEqual(
      needsApproval,
    );
    expect(await s.notified(ALICE)).not.toContainEqual(needsApproval);
    expect(await s.notified(BOB)).not.toContainEqual(needsApproval);

    // Not an approver (the portal's policy: restore.approve for members of a configured approver group).
    const refused = await request(s.server)
      .post(`/api/restore/restores/${created.body.id}/approve`)
      .set('Authorization', as(BOB))
      .send({});
    expect(refused.status).toBe(403);
    expect(await jobsIn('team-a')).toEqual(before);

    const approved = await request(s.server)
      .post(`/api/restore/restores/${created.body.id}/approve`)
      .set('Authorization', as(CAROL))
      .send({});
    expect(approved.status).toBe(200);
    expect(approved.body.jobCreatedAt).toBeDefined();
    expect(await jobsIn('team-a')).toContain(created.body.name);
    const events = await request(s.server)
      .get(`/api/restore/restores/${created.body.id}/events`)
      .set('Authorization', as(ALICE));
    expect(
      sseEvents(events.text)
        .filter(u => u.event === 'status')
        .at(-1)?.data,
    ).toMatchObject({ phase: 'Succeeded' });
    expect(s.audit.map(e => e.eventId)).toEqual(
      expect.arrayContaining(['restore-create', 'restore-approve']),
    );
  });

  it('a requester who is also an approver cannot approve their own restore', async () => {
    // dave is in team-a (owns shop: may restore) and in sre (an approver): the policy lets him through,
    // and the plugin's own rule refuses him.
    const before = await jobsIn('team-a');
    const created = await request(s.server)
      .post('/api/restore/restores')
      .set('Authorization', as(DAVE))
      .send({
        entityRef: 'component:default/shop',
        source: { name: 'nightly', path: 'data/', archiveTier: 'Expedited' },
        target: { pvc: 'dave-data' },
      });
    expect(created.status).toBe(202);
    const self = await request(s.server)
      .post(`/api/restore/restores/${created.body.id}/approve`)
      .set('Authorization', as(DAVE))
      .send({});
    expect(self.status).toBe(403);
    expect(self.body.error.message).toBe(
      'a restore cannot be approved or rejected by the person who asked for it',
    );
    expect(await jobsIn('team-a')).toEqual(before);
    await expect(
      cluster.admin.get(
        '/api/v1/namespaces/team-a/persistentvolumeclaims/dave-data',
      ),
    ).rejects.toMatchObject({ statusCode: 404 });
    const rejected = await request(s.server)
      .post(`/api/restore/restores/${created.body.id}/reject`)
      .set('Authorization', as(CAROL))
      .send({});
    expect(rejected.status).toBe(200);
    expect(rejected.body.phase).toBe('Rejected');
  });

  it('a namespace restore makes one restore per folder, each a new PVC', async () => {
    const res = await request(s.server)
      .post('/api/restore/restores/namespace')
      .set('Authorization', as(ALICE))
      .send({
        entityRef: 'component:default/shop',
        source: { name: 'nightly', path: 'all/' },
      });
    expect(res.status).toBe(200);
    expect(
      res.body.items.map((i: any) => [
        i.pvc,
        i.restore?.phase !== undefined,
        i.error,
      ]),
    ).toEqual([
      ['cache', true, undefined],
      ['db', true, undefined],
    ]);
    for (const item of res.body.items) {
      const events = await request(s.server)
        .get(`/api/restore/restores/${item.restore.id}/events`)
        .set('Authorization', as(ALICE));
      expect(
        sseEvents(events.text)
          .filter(u => u.event === 'status')
          .at(-1)?.data,
      ).toMatchObject({ phase: 'Succeeded' });
      expect(readTree(await cluster.pvcPath('team-a', item.pvc))).toMatchObject(
        FILES,
      );
    }
  });

  it('a restore larger than the limit is refused with 429 naming the limit, and nothing is created', async () => {
    const limited = await startBackend({
      kubeRestore: {
        ...(config().kubeRestore as JsonObject),
        limits: { maxBytesPerRestore: '10' },
      },
    });
    try {
      const before = await jobsIn('team-a');
      const res = await request(limited.server)
        .post('/api/restore/restores')
        .set('Authorization', as(ALICE))
        .send({
          entityRef: 'component:default/shop',
          source: { name: 'nightly', path: 'data/' },
          target: { pvc: 'too-big' },
        });
      expect(res.status).toBe(429);
      expect(res.body.error.message).toMatch(
        /more than the limit of 10 per restore \(kubeRestore\.limits\.maxBytesPerRestore\)/,
      );
      expect(await jobsIn('team-a')).toEqual(before);
    } finally {
      await limited.stop();
    }
  });

  it('20 parallel creates against a limit of 2 per namespace: exactly 2 Jobs, 18 refused with 429', async () => {
    const limited = await startBackend({
      kubeRestore: {
        ...(config().kubeRestore as JsonObject),
        limits: { concurrentRestoresPerNamespace: 2 },
      },
    });
    try {
      const before = await jobsIn('team-a');
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          request(limited.server)
            .post('/api/restore/restores')
            .set('Authorization', as(ALICE))
            .send({
              entityRef: 'component:default/shop',
              source: { name: 'nightly', path: 'data/' },
              target: { pvc: `limit-${i}` },
            }),
        ),
      );
      expect(results.map(r => r.status).sort()).toEqual([
        201,
        201,
        ...Array(18).fill(429),
      ]);
      const created = (await jobsIn('team-a')).filter(j => !before.includes(j));
      expect(created.sort()).toEqual(
        results
          .filter(r => r.status === 201)
          .map(r => r.body.name)
          .sort(),
      );
    } finally {
      await limited.stop();
    }
  });

  it('limits and approval count what a restore will write: the versions asOf reads, an archive unpacked', async () => {
    const s3 = harnessS3(cluster);
    const put = (Key: string, size: number) =>
      s3.send(
        new PutObjectCommand({
          Bucket: 'versioned',
          Key,
          Body: 'x'.repeat(size),
        }),
      );
    await s3.send(new CreateBucketCommand({ Bucket: 'versioned' }));
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: 'versioned',
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
    await put('team-a/shop/hist/data.bin', 10);
    await new Promise(resolve => setTimeout(resolve, 1500));
    const asOf = new Date().toISOString();
    await new Promise(resolve => setTimeout(resolve, 1500));
    await put('team-a/shop/hist/data.bin', 3000); // today's version: over the limit
    await put('team-a/shop/db.tar.gz', 600); // unpacks to about 1800 (estimated)
    s3.destroy();

    const base = { ...(config().kubeRestore as JsonObject) };
    delete base.exists; // its source is not configured here
    const limited = await startBackend({
      kubeRestore: {
        ...base,
        sources: [
          {
            name: 'versioned',
            endpoint: cluster.s3!.endpoint,
            region: cluster.s3!.region,
            bucket: 'versioned',
            prefix: '${namespace}/${entity}/',
            credentials: {
              accessKeyId: cluster.s3!.accessKeyId,
              secretAccessKey: cluster.s3!.secretAccessKey,
            },
          },
        ],
        limits: { maxBytesPerRestore: '1Ki' },
        approval: {
          rules: [
            {
              name: 'large',
              aboveBytes: '512',
              approvers: ['group:default/sre'],
            },
          ],
        },
      } as JsonObject,
    });
    try {
      const plan = async (source: object) =>
        (
          await request(limited.server)
            .post('/api/restore/plan')
            .set('Authorization', as(ALICE))
            .send({
              entityRef: 'component:default/shop',
              source: { name: 'versioned', ...source },
              target: { pvc: 'sized', size: 'auto' },
            })
        ).body;
      const today = await plan({ path: 'hist/' });
      expect(today.size).toMatchObject({ objects: 1, bytes: 3000 });
      expect(today.quota.problems).toEqual([
        expect.stringMatching(
          /^it restores 2\.93 KiB, more than the limit of 1Ki/,
        ),
      ]);
      expect(today.approval.required).toBe(true);

      const then = await plan({ path: 'hist/', asOf });
      expect(then.size).toMatchObject({ objects: 1, bytes: 10 });
      expect(then.quota).toEqual({ ok: true, problems: [] });
      expect(then.approval.required).toBe(false);

      const archive = await plan({ path: 'db.tar.gz', format: 'tar' });
      expect(archive.size).toMatchObject({ bytes: 600, estimated: true });
      expect(archive.quota.problems).toEqual([
        expect.stringMatching(
          /unpacked \(estimated from a compressed archive of 600 B\), more than the limit of 1Ki/,
        ),
      ]);
      expect(archive.approval.reasons).toEqual([
        expect.objectContaining({
          rule: 'large',
          reason: expect.stringMatching(/unpacked \(estimated/),
        }),
      ]);
    } finally {
      await limited.stop();
    }
  });

  it('deleting a restore removes its Job, and its PVC when asked; the history stays', async () => {
    const list = await request(s.server)
      .get('/api/restore/restores?entityRef=component:default/shop')
      .set('Authorization', as(ALICE));
    const first = list.body.items.find((r: any) => r.pvc === 'shop-data');
    const res = await request(s.server)
      .delete(`/api/restore/restores/${first.id}?deletePvc=true`)
      .set('Authorization', as(ALICE));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      phase: 'Succeeded',
      deletedAt: expect.any(String),
    });
    await expect(
      cluster.admin.get(`/apis/batch/v1/namespaces/team-a/jobs/${first.name}`),
    ).rejects.toMatchObject({ statusCode: 404 });
    const pvc = await cluster.admin
      .get('/api/v1/namespaces/team-a/persistentvolumeclaims/shop-data')
      .catch(() => undefined);
    expect(
      pvc === undefined || pvc.metadata.deletionTimestamp !== undefined,
    ).toBe(true);
    expect(s.audit.find(e => e.eventId === 'restore-delete')).toMatchObject({
      outcome: 'success',
      outcomeMeta: { pvcDeleted: 'shop-data' },
    });
  });

  it('/exists answers restore and fresh', async () => {
    const service = mockCredentials.service.header();
    // the "elsewhere" source's template is ${namespace}/${pvc}/ in bucket backups: team-a/shop/ holds objects
    const restore = await request(s.server)
      .get('/api/restore/exists/team-a/shop')
      .set('Authorization', service);
    expect(restore.status).toBe(200);
    expect(restore.body).toMatchObject({
      decision: 'restore',
      location: 's3://backups/team-a/shop/',
    });
    const fresh = await request(s.server)
      .get('/api/restore/exists/team-a/nothing-here')
      .set('Authorization', service);
    expect(fresh.status).toBe(200);
    expect(fresh.body).toMatchObject({ decision: 'fresh' });
  });

  it('/exists answers unknown with 503 when the bucket does not exist', async () => {
    const other = await startBackend(config('no-such-bucket'));
    try {
      const res = await request(other.server)
        .get('/api/restore/exists/team-a/shop')
        .set('Authorization', mockCredentials.service.header());
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({
        decision: 'unknown',
        reason: expect.stringMatching(/no-such-bucket/),
      });
    } finally {
      await other.stop();
    }
  });
});
