/*
 * deploy/ proven on a real API server: the RBAC authorizer, Pod Security admission and the real
 * Job controller of the harness cluster (test/cluster). deploy/ is applied with the real kubectl,
 * team-a is opted in and team-b is not; then
 *   - a permission matrix: every identity x verb x resource x namespace, asked of the API server;
 *   - core's create, status, logs and delete as the operator in team-a, and its Forbidden in team-b;
 *   - the Job pods core builds are admitted under Pod Security `restricted`, weakened ones are not.
 * Missing prerequisites (binaries, the job program) fail the suite; nothing is skipped.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { RestoreRequestInput, parseRestoreRequest } from '@kube-restore/common';
import {
  KubeClients,
  RBAC_HINT,
  apiStatusMessage,
  RestoreError,
  buildRestoreManifests,
  checkAccess,
  createKubeClients,
  createRestore,
  createS3Client,
  deleteRestore,
  getRestore,
  loadKubeConfig,
  restoreLogs,
} from '@kube-restore/core';
import {
  Cluster,
  OPERATOR_NAMESPACE,
  OPERATOR_SERVICE_ACCOUNT,
  startCluster,
} from '@kube-restore/test-cluster';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const DEPLOY = path.join(REPO_ROOT, 'deploy');
const OPT_IN = path.join(DEPLOY, 'rbac', 'opt-in');

// ------------------------------------------------------------------------------------ the matrix
interface Cell {
  group: string;
  resource: string;
  subresource?: string;
  verb: string;
}

const ALL_VERBS = [
  'get',
  'list',
  'watch',
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
];
const cells = (
  group: string,
  resource: string,
  verbs: string[],
  subresource?: string,
): Cell[] =>
  verbs.map(verb => ({
    group,
    resource,
    verb,
    ...(subresource ? { subresource } : {}),
  }));

/** Namespaced cells, asked in team-a, team-b, kube-restore and across all namespaces. */
const NAMESPACED: Cell[] = [
  ...cells('batch', 'jobs', ALL_VERBS),
  ...cells('batch', 'jobs', ['update', 'patch'], 'status'),
  ...cells('batch', 'cronjobs', ['create']),
  ...cells('', 'pods', ALL_VERBS),
  ...cells('', 'pods', ['get'], 'log'),
  ...cells('', 'pods', ['get', 'create'], 'exec'),
  ...cells('', 'pods', ['create'], 'attach'),
  ...cells('', 'pods', ['create'], 'portforward'),
  ...cells('', 'pods', ['patch'], 'ephemeralcontainers'),
  ...cells('', 'persistentvolumeclaims', ALL_VERBS),
  ...cells('', 'secrets', ALL_VERBS),
  ...cells('', 'events', ['get', 'list', 'watch', 'create']),
  ...cells('coordination.k8s.io', 'leases', ALL_VERBS),
  ...cells('', 'configmaps', ['get', 'list', 'create']),
  ...cells('', 'serviceaccounts', ['get', 'create']),
  ...cells('', 'serviceaccounts', ['create'], 'token'),
  ...cells('', 'services', ['create']),
  ...cells('apps', 'deployments', ['get', 'create']),
  ...cells('rbac.authorization.k8s.io', 'roles', ['create']),
  ...cells('rbac.authorization.k8s.io', 'rolebindings', ['create']),
];
const NAMESPACES = ['team-a', 'team-b', OPERATOR_NAMESPACE, '*'];

/** Cluster-scoped cells. */
const CLUSTER: Cell[] = [
  ...cells('', 'namespaces', ['get', 'list']),
  ...cells('', 'nodes', ['list']),
  ...cells('', 'persistentvolumes', ['list', 'create']),
  ...cells('rbac.authorization.k8s.io', 'clusterroles', [
    'create',
    'bind',
    'escalate',
  ]),
  ...cells('rbac.authorization.k8s.io', 'clusterrolebindings', ['create']),
  ...cells('authorization.k8s.io', 'selfsubjectaccessreviews', ['create']),
];

const cellKey = (scope: string, c: Cell) =>
  `${scope.padEnd(12)} ${c.verb.padEnd(16)} ${c.resource}${c.subresource ? `/${c.subresource}` : ''}${c.group ? `.${c.group}` : ''}`;

/** One writer per PVC: the PVC's Lease (packages/restore-core/src/pvcLease.ts). */
const LEASE_NEEDS = cells('coordination.k8s.io', 'leases', [
  'get',
  'create',
  'update',
]);
/** Everything core calls (packages/restore-core/src/restores.ts, watch.ts): what the operator gets in an opted-in namespace. */
const CORE_NEEDS = new Set(
  [
    ...cells('batch', 'jobs', [
      'get',
      'list',
      'watch',
      'create',
      'patch',
      'delete',
    ]),
    ...cells('', 'pods', ['list', 'watch']),
    ...cells('', 'pods', ['get'], 'log'),
    ...cells('', 'persistentvolumeclaims', ['get', 'create', 'delete']),
    ...cells('', 'secrets', ['create']),
    ...cells('', 'events', ['list']),
    ...LEASE_NEEDS,
  ].map(c => cellKey('', c)),
);
/** What reading restores needs (status, list, watch, logs, describe). */
const READ_NEEDS = new Set(
  [
    ...cells('batch', 'jobs', ['get', 'list', 'watch']),
    ...cells('', 'pods', ['list', 'watch']),
    ...cells('', 'pods', ['get'], 'log'),
    ...cells('', 'events', ['list']),
  ].map(c => cellKey('', c)),
);
/** A matrix is some 300 reviews; on a loaded machine that takes longer than jest's default 5 s. */
const MATRIX_TIMEOUT_MS = 60_000;
const isCoreNeed = (c: Cell) => CORE_NEEDS.has(cellKey('', c));
const isReadNeed = (c: Cell) => READ_NEEDS.has(cellKey('', c));
/** system:basic-user lets every authenticated identity ask what it may do. */
const isSelfReview = (c: Cell) => c.resource === 'selfsubjectaccessreviews';

type Matrix = Record<string, boolean>;
type Ask = (attrs: Cell & { namespace?: string }) => Promise<boolean>;

async function inBatches<T, R>(
  items: T[],
  size: number,
  fn: (t: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size)
    out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

const ALL_CELLS: [string, Cell][] = [
  ...NAMESPACES.flatMap(ns => NAMESPACED.map(c => [ns, c] as [string, Cell])),
  ...CLUSTER.map(c => ['cluster', c] as [string, Cell]),
];

async function matrixOf(ask: Ask): Promise<Matrix> {
  const answers = await inBatches(ALL_CELLS, 24, ([scope, c]) =>
    ask({
      ...c,
      ...(scope === 'cluster' || scope === '*' ? {} : { namespace: scope }),
    }),
  );
  return Object.fromEntries(
    ALL_CELLS.map(([scope, c], i) => [cellKey(scope, c), answers[i]]),
  );
}

function expectedMatrix(allowed: (scope: string, c: Cell) => boolean): Matrix {
  return Object.fromEntries(
    ALL_CELLS.map(([scope, c]) => [cellKey(scope, c), allowed(scope, c)]),
  );
}

/** SelfSubjectAccessReview with the identity's own credentials: the real authenticator decides its groups. */
function selfReview(clients: KubeClients): Ask {
  return async ({ namespace, ...attrs }) => {
    const review = await clients.authz.createSelfSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: {
          resourceAttributes: { ...attrs, ...(namespace ? { namespace } : {}) },
        },
      },
    });
    return review.status?.allowed === true;
  };
}

/** SubjectAccessReview from the admin, for a user without credentials of its own. */
function reviewFor(admin: KubeClients, user: string, groups: string[]): Ask {
  return async ({ namespace, ...attrs }) => {
    const review = await admin.authz.createSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user,
          groups,
          resourceAttributes: { ...attrs, ...(namespace ? { namespace } : {}) },
        },
      },
    });
    return review.status?.allowed === true;
  };
}

// ------------------------------------------------------------------------------------ helpers
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  throw new Error(
    `timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
  );
}

function clientsFrom(kubeconfig: string): KubeClients {
  return createKubeClients(loadKubeConfig({ kubeconfig }));
}

async function forbidden(promise: Promise<unknown>): Promise<RestoreError> {
  const error = await promise.then(
    () => undefined,
    e => e,
  );
  expect(error).toBeInstanceOf(RestoreError);
  expect((error as RestoreError).kind).toBe('Forbidden');
  return error as RestoreError;
}

// ------------------------------------------------------------------------------------ the suite
describe('deploy/ on a real API server', () => {
  let cluster: Cluster;
  let tmp: string;
  let kubectl: (...args: string[]) => Promise<string>;
  let admin: KubeClients;
  let operator: KubeClients;
  let before: { alice: Matrix; viewer: Matrix; operator: Matrix };
  const VIEWER = 'victor';

  beforeAll(async () => {
    // Prerequisites fail loudly: startCluster() refuses a missing or stale job image.
    cluster = await startCluster();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kube-restore-rbac-'));
    kubectl = async (...args: string[]) =>
      (
        await run(
          cluster.binaries.kubectl,
          ['--kubeconfig', cluster.kubeconfig.admin, ...args],
          { cwd: REPO_ROOT },
        )
      ).stdout;
    admin = clientsFrom(cluster.kubeconfig.admin);
    operator = clientsFrom(cluster.kubeconfig.operator);

    // A reader of team-a, to prove kube-restore-view adds nothing to `view` either.
    await kubectl(
      'create',
      'rolebinding',
      'victor-view',
      '--clusterrole=view',
      `--user=${VIEWER}`,
      '-n',
      'team-a',
    );
    await kubectl('create', 'namespace', 'team-c');
    await kubectl(
      'label',
      'namespace',
      'team-c',
      'pod-security.kubernetes.io/enforce=restricted',
    );

    before = {
      alice: await matrixOf(selfReview(clientsFrom(cluster.kubeconfig.alice))),
      viewer: await matrixOf(
        reviewFor(admin, VIEWER, ['system:authenticated']),
      ),
      operator: await matrixOf(selfReview(operator)),
    };

    // Install exactly as deploy/README.md says, with the real kubectl.
    await kubectl('apply', '-k', DEPLOY);
    await kubectl('apply', '-k', OPT_IN, '-n', 'team-a');
    // team-a's admins let restores read S3 keys from s3-reader (deploy/policy, issue 25).
    await kubectl(
      'annotate',
      'namespace',
      'team-a',
      'kube-restore.io/credential-secrets=s3-reader',
    );
    // The aggregation controller folds kube-restore-edit/-view into edit/view: wait for it.
    // (kube-controller-manager's clusterrole-aggregation controller): wait for one of our own rules.
    const ours = (r: any) =>
      r.apiGroups?.join() === '' &&
      r.resources?.join() === 'events' &&
      r.verbs?.join() === 'list';
    await Promise.all(
      ['edit', 'view'].map(role =>
        eventually(
          `kube-restore-${role} to be aggregated into ${role}`,
          async () => {
            const { rules = [] } = JSON.parse(
              await kubectl('get', 'clusterrole', role, '-o', 'json'),
            );
            return rules.some(ours) ? true : undefined;
          },
        ),
      ),
    );
  }, 30 * 60_000);

  afterAll(async () => {
    await cluster?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  describe('install', () => {
    it('`kubectl apply -k deploy/rbac/opt-in -n team-a` creates the RoleBinding in team-a, and only there', async () => {
      const list = JSON.parse(
        await kubectl(
          'get',
          'rolebindings',
          '-A',
          '-l',
          'app.kubernetes.io/component=opt-in',
          '-o',
          'json',
        ),
      );
      expect(list.items.map((b: any) => b.metadata.namespace)).toEqual([
        'team-a',
      ]);
      const [binding] = list.items;
      expect(binding.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'kube-restore-operator',
      });
      expect(binding.subjects).toEqual([
        {
          kind: 'ServiceAccount',
          name: OPERATOR_SERVICE_ACCOUNT,
          namespace: OPERATOR_NAMESPACE,
        },
      ]);
    });

    it('a GitOps overlay with `namespace:` binds in its namespace and keeps the subject in kube-restore', async () => {
      const overlay = path.join(tmp, 'overlay');
      fs.mkdirSync(overlay);
      fs.writeFileSync(
        path.join(overlay, 'kustomization.yaml'),
        `namespace: team-x\nresources:\n  - ${path.relative(overlay, OPT_IN)}\n`,
      );
      const built = await kubectl('kustomize', overlay);
      expect(built).toMatch(/^ {2}namespace: team-x$/m);
      expect(built).toMatch(/^ {2}namespace: kube-restore$/m);
    });

    it('opting a namespace out with `kubectl delete -k deploy/rbac/opt-in -n NS` takes the rights away again', async () => {
      const ask = selfReview(operator);
      const canCreateJobs = () =>
        ask({
          group: 'batch',
          resource: 'jobs',
          verb: 'create',
          namespace: 'team-c',
        });
      expect(await canCreateJobs()).toBe(false);
      await kubectl('apply', '-k', OPT_IN, '-n', 'team-c');
      expect(await canCreateJobs()).toBe(true);
      await kubectl('delete', '-k', OPT_IN, '-n', 'team-c');
      expect(await canCreateJobs()).toBe(false);
    });

    it('installing grants the operator nothing until a namespace opts in', () => {
      expect(before.operator).toEqual(
        expectedMatrix((_scope, c) => isSelfReview(c)),
      );
    });
  });

  describe('permission matrix (SelfSubjectAccessReview, every cell)', () => {
    it(
      'restore-operator: exactly what core needs in team-a; nothing in team-b, kube-restore or cluster-wide',
      async () => {
        const actual = await matrixOf(selfReview(operator));
        expect(actual).toEqual(
          expectedMatrix(
            (scope, c) =>
              isSelfReview(c) || (scope === 'team-a' && isCoreNeed(c)),
          ),
        );
      },
      MATRIX_TIMEOUT_MS,
    );

    it(
      'bob (no bindings): nothing anywhere',
      async () => {
        const actual = await matrixOf(
          selfReview(clientsFrom(cluster.kubeconfig.bob)),
        );
        expect(actual).toEqual(expectedMatrix((_scope, c) => isSelfReview(c)));
      },
      MATRIX_TIMEOUT_MS,
    );

    it.each(['team-a', 'team-b'])(
      "the job pods' ServiceAccount (%s/default): nothing anywhere",
      async ns => {
        const token = await admin.core.createNamespacedServiceAccountToken({
          name: 'default',
          namespace: ns,
          body: {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenRequest',
            spec: { audiences: [], expirationSeconds: 600 },
          },
        });
        const file = path.join(tmp, `${ns}-default.yaml`);
        const kc = fs
          .readFileSync(cluster.kubeconfig.operator, 'utf8')
          .replace(/token: .*/, `token: ${token.status!.token}`);
        fs.writeFileSync(file, kc, { mode: 0o600 });
        const actual = await matrixOf(selfReview(clientsFrom(file)));
        expect(actual).toEqual(expectedMatrix((_scope, c) => isSelfReview(c)));
      },
      MATRIX_TIMEOUT_MS,
    );

    it(
      'alice (edit in team-a): already had every right core needs in team-a (the PVC Lease included); installing changed nothing for her',
      async () => {
        const actual = await matrixOf(
          selfReview(clientsFrom(cluster.kubeconfig.alice)),
        );
        // `edit` lacks nothing kube-restore needs, Leases included, so kube-restore-edit widens
        // no one's rights.
        for (const c of NAMESPACED.filter(isCoreNeed))
          expect([
            cellKey('team-a', c),
            before.alice[cellKey('team-a', c)],
          ]).toEqual([cellKey('team-a', c), true]);
        expect(actual).toEqual(before.alice);
        // ...and nothing outside team-a.
        expect(
          Object.entries(actual).filter(
            ([k, v]) =>
              v &&
              !k.startsWith('team-a ') &&
              !k.includes('selfsubjectaccessreviews'),
          ),
        ).toEqual([]);
      },
      MATRIX_TIMEOUT_MS,
    );

    it(
      'a `view` user of team-a: can read restores, never Secrets, never writes; installing changed nothing',
      async () => {
        const actual = await matrixOf(
          reviewFor(admin, VIEWER, ['system:authenticated']),
        );
        expect(actual).toEqual(before.viewer);
        const teamA = (c: Cell) => actual[cellKey('team-a', c)];
        for (const c of NAMESPACED.filter(isReadNeed))
          expect([cellKey('team-a', c), teamA(c)]).toEqual([
            cellKey('team-a', c),
            true,
          ]);
        const writes = [
          'create',
          'update',
          'patch',
          'delete',
          'deletecollection',
          'escalate',
          'bind',
        ];
        expect(
          Object.entries(actual).filter(
            ([k, v]) =>
              v &&
              (writes.some(w => k.includes(` ${w} `)) ||
                k.includes(' secrets')) &&
              !k.includes('selfsubjectaccessreviews'),
          ),
        ).toEqual([]);
      },
      MATRIX_TIMEOUT_MS,
    );

    it("core's own preflight (checkAccess) agrees: all allowed in team-a, all denied in team-b", async () => {
      const request = (namespace: string) =>
        parseRestoreRequest({
          source: { bucket: 'datasets', prefix: 'p/' },
          target: { namespace, pvc: 'x', size: '1Gi' },
        });
      const inA = await checkAccess(operator, request('team-a'), {
        withSecret: true,
      });
      expect(inA.filter(a => !a.allowed)).toEqual([]);
      const inB = await checkAccess(operator, request('team-b'), {
        withSecret: true,
      });
      expect(inB.filter(a => a.allowed)).toEqual([]);
    });
  });

  describe("core's calls as the operator", () => {
    const bucket = 'rbac-e2e';
    const input = (namespace: string): RestoreRequestInput => ({
      name: 'rbac-e2e',
      source: {
        endpoint: cluster.s3!.endpoint,
        region: cluster.s3!.region,
        bucket,
        prefix: 'data/',
      },
      target: { namespace, pvc: 'rbac-e2e-data', size: '1Gi' },
    });
    const keys = () => ({
      accessKeyId: cluster.s3!.accessKeyId,
      secretAccessKey: cluster.s3!.secretAccessKey,
    });

    beforeAll(async () => {
      if (!cluster.s3) throw new Error('the harness started without MinIO');
      const s3 = createS3Client(
        {
          endpoint: cluster.s3.endpoint,
          region: cluster.s3.region,
          pathStyle: true,
        },
        keys(),
      );
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'data/hello.txt',
          Body: 'hello from S3\n',
        }),
      );
    }, 60_000);

    it('create, status, logs and delete succeed in team-a; the owned Secret goes with the Job', async () => {
      const request = parseRestoreRequest(input('team-a'));
      const created = await createRestore(operator, request, {
        credentials: keys(),
        requester: 'rbac-e2e',
      });
      expect(created.created).toBe(true);
      expect(created.manifests.secret).toBeDefined();

      const status = await eventually(
        'the restore to finish',
        async () => {
          const s = await getRestore(operator, 'team-a', 'rbac-e2e');
          return s.phase === 'Succeeded' || s.phase === 'Failed'
            ? s
            : undefined;
        },
        120_000,
      );
      const logs = await restoreLogs(operator, 'team-a', 'rbac-e2e');
      expect({ phase: status.phase, error: status.error }).toEqual({
        phase: 'Succeeded',
        error: undefined,
      });
      expect(logs.pod).toBe(status.pods.at(-1));
      const volume = await cluster.pvcPath('team-a', 'rbac-e2e-data');
      expect(fs.readFileSync(path.join(volume, 'hello.txt'), 'utf8')).toBe(
        'hello from S3\n',
      );

      // The pod ran without any API token.
      const pod = await admin.core.readNamespacedPod({
        name: logs.pod,
        namespace: 'team-a',
      });
      expect(pod.spec?.automountServiceAccountToken).toBe(false);
      expect(pod.spec?.serviceAccountName).toBe('default');
      expect(pod.spec?.volumes?.filter(v => v.projected || v.secret)).toEqual(
        [],
      );

      const secretName = created.manifests.secret!.metadata!.name!;
      expect(
        await deleteRestore(operator, 'team-a', 'rbac-e2e', {
          deletePvc: true,
        }),
      ).toEqual({ job: 'rbac-e2e', pvc: 'rbac-e2e-data' });
      await eventually(
        "the Job, its pods, its Secret and the PVC's Lease to be garbage-collected",
        async () => {
          const [jobs, pods, secrets, leases] = await Promise.all([
            admin.batch.listNamespacedJob({
              namespace: 'team-a',
              labelSelector: 'kube-restore.io/restore=rbac-e2e',
            }),
            admin.core.listNamespacedPod({
              namespace: 'team-a',
              labelSelector: 'kube-restore.io/restore=rbac-e2e',
            }),
            admin.core.listNamespacedSecret({
              namespace: 'team-a',
              fieldSelector: `metadata.name=${secretName}`,
            }),
            admin.coordination.listNamespacedLease({
              namespace: 'team-a',
              labelSelector: 'kube-restore.io/restore=rbac-e2e',
            }),
          ]);
          return jobs.items.length +
            pods.items.length +
            secrets.items.length +
            leases.items.length ===
            0
            ? true
            : undefined;
        },
      );
    }, 180_000);

    it("two creates into one PVC at once (Promise.all): exactly one wins, the other is refused naming it; the Lease goes with the winner's Job", async () => {
      const pvc = 'race-data';
      await admin.core.createNamespacedPersistentVolumeClaim({
        namespace: 'team-a',
        body: {
          metadata: { name: pvc },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: '1Gi' } },
          },
        },
      });
      const racer = (name: string) =>
        parseRestoreRequest({
          ...input('team-a'),
          name,
          target: { namespace: 'team-a', pvc, mode: 'existing' },
        });
      const results = await Promise.allSettled(
        ['race-a', 'race-b'].map(name =>
          createRestore(operator, racer(name), { credentials: keys() }),
        ),
      );
      const won = results.flatMap((r, i) =>
        r.status === 'fulfilled' ? [['race-a', 'race-b'][i]] : [],
      );
      expect(won).toHaveLength(1);
      const [winner] = won;
      const loser = winner === 'race-a' ? 'race-b' : 'race-a';
      const refusal = results.find(
        (r): r is PromiseRejectedResult => r.status === 'rejected',
      )!.reason;
      expect(refusal).toBeInstanceOf(RestoreError);
      expect(refusal.kind).toBe('Conflict');
      expect(refusal.message).toContain(
        `PVC "${pvc}" in namespace team-a is being restored by restore "${winner}"`,
      );
      const jobs = await admin.batch.listNamespacedJob({
        namespace: 'team-a',
        labelSelector: 'app.kubernetes.io/managed-by=kube-restore',
      });
      expect(
        jobs.items
          .map(j => j.metadata?.name)
          .filter(n => n?.startsWith('race-')),
      ).toEqual([winner]);
      const lease = await admin.coordination.readNamespacedLease({
        name: `kube-restore-pvc-${pvc}`,
        namespace: 'team-a',
      });
      expect(lease.spec?.holderIdentity).toBe(winner);
      expect(lease.metadata?.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'Job', name: winner }),
      ]);
      // Still held while the winner lives: a later create is refused too.
      await expect(
        createRestore(operator, racer(loser), { credentials: keys() }),
      ).rejects.toThrow(`restore "${winner}"`);
      // The winner deleted: its Lease goes by garbage collection, and the PVC is free again.
      await deleteRestore(operator, 'team-a', winner);
      const second = await eventually('the PVC to be free again', async () =>
        createRestore(operator, racer(loser), { credentials: keys() }),
      );
      expect(second.created).toBe(true);
      await deleteRestore(operator, 'team-a', loser);
    }, 120_000);

    it("the operator writes no Lease but a PVC's: the namespace's leader-election Leases are out of its reach", async () => {
      const lease = (name: string, labels: Record<string, string> = {}) => ({
        metadata: { name, labels },
        spec: { holderIdentity: 'x', leaseDurationSeconds: 15 },
      });
      const refused = (body: ReturnType<typeof lease>) =>
        operator.coordination
          .createNamespacedLease({ namespace: 'team-a', body, dryRun: 'All' })
          .then(
            () => 'allowed',
            e => `${e.code}: ${apiStatusMessage(e)}`,
          );
      expect(await refused(lease('app-leader'))).toMatch(
        /^422: .*kube-restore-operator-leases/,
      );
      expect(
        await refused(
          lease('app-leader', {
            'app.kubernetes.io/managed-by': 'kube-restore',
          }),
        ),
      ).toMatch(/^422: .*only writes Leases named kube-restore-pvc-/);
      expect(
        await refused(
          lease('kube-restore-pvc-x', {
            'app.kubernetes.io/managed-by': 'kube-restore',
          }),
        ),
      ).toBe('allowed');
      // An app's own Lease: the operator may not take it over.
      await admin.coordination.createNamespacedLease({
        namespace: 'team-a',
        body: lease('kube-restore-pvc-app'),
      });
      const app = await operator.coordination.readNamespacedLease({
        name: 'kube-restore-pvc-app',
        namespace: 'team-a',
      });
      const takeover = await operator.coordination
        .replaceNamespacedLease({
          name: 'kube-restore-pvc-app',
          namespace: 'team-a',
          body: {
            ...app,
            metadata: {
              ...app.metadata,
              labels: { 'app.kubernetes.io/managed-by': 'kube-restore' },
            },
            spec: { ...app.spec, holderIdentity: 'operator' },
          },
        })
        .then(
          () => 'allowed',
          e => `${e.code}: ${apiStatusMessage(e)}`,
        );
      expect(takeover).toMatch(
        /^422: .*only updates Leases that kube-restore made/,
      );
    });

    it('a server-side dry run passes RBAC and the admission policies, and leaves nothing behind', async () => {
      const request = parseRestoreRequest({
        ...input('team-a'),
        name: 'rbac-dry-run',
      });
      const result = await createRestore(operator, request, {
        credentials: keys(),
        dryRun: 'server',
      });
      expect(result.created).toBe(true);
      const jobs = await admin.batch.listNamespacedJob({
        namespace: 'team-a',
        labelSelector: 'kube-restore.io/restore=rbac-dry-run',
      });
      const secrets = await admin.core.listNamespacedSecret({
        namespace: 'team-a',
        labelSelector: 'kube-restore.io/restore=rbac-dry-run',
      });
      expect([jobs.items, secrets.items]).toEqual([[], []]);
    });

    it("fails in team-b with core's Forbidden message that says how to opt in", async () => {
      const request = parseRestoreRequest(input('team-b'));
      const error = await forbidden(
        createRestore(operator, request, { credentials: keys() }),
      );
      expect(error.message).toBe(
        `forbidden: this identity may not get jobs.batch in namespace team-b; ${RBAC_HINT}`,
      );
      expect(error.message).toContain(
        'kubectl apply -k deploy/rbac/opt-in -n NAMESPACE',
      );
      await forbidden(getRestore(operator, 'team-b', 'rbac-e2e'));
      await forbidden(restoreLogs(operator, 'team-b', 'rbac-e2e'));
      await forbidden(deleteRestore(operator, 'team-b', 'rbac-e2e'));
      // Nothing was created there.
      const jobs = await admin.batch.listNamespacedJob({ namespace: 'team-b' });
      const pvcs = await admin.core.listNamespacedPersistentVolumeClaim({
        namespace: 'team-b',
      });
      const secrets = await admin.core.listNamespacedSecret({
        namespace: 'team-b',
      });
      expect([jobs.items, pvcs.items, secrets.items]).toEqual([[], [], []]);
    });

    it('every path named in RBAC_HINT exists in deploy/', () => {
      expect(RBAC_HINT).toContain('deploy/rbac/opt-in');
      expect(fs.existsSync(path.join(OPT_IN, 'kustomization.yaml'))).toBe(true);
      expect(RBAC_HINT).toContain('deploy/rbac/aggregate-to-edit.yaml');
      expect(
        fs.existsSync(path.join(DEPLOY, 'rbac', 'aggregate-to-edit.yaml')),
      ).toBe(true);
    });
  });

  describe('deploy/policy: what the operator may write is what core builds', () => {
    const base = () =>
      buildRestoreManifests(
        parseRestoreRequest({
          name: 'guarded',
          source: { bucket: 'datasets', prefix: 'p/' },
          target: { namespace: 'team-a', pvc: 'guarded', size: '1Gi' },
          credentials: { type: 'secret', secretName: 's3-reader' },
        }),
      );
    type Job = ReturnType<typeof base>['job'];
    const refusal = async (promise: Promise<unknown>) => {
      const error = await promise.then(
        () => undefined,
        e => e,
      );
      return error === undefined
        ? 'allowed'
        : `${error.code}: ${apiStatusMessage(error)}`;
    };
    const createJob = (job: Job, as: KubeClients = operator) =>
      refusal(
        as.batch.createNamespacedJob({
          namespace: 'team-a',
          body: job,
          dryRun: 'All',
        }),
      );
    const kubectlAs = (kubeconfig: string, ...args: string[]) =>
      refusal(
        run(cluster.binaries.kubectl, [
          '--kubeconfig',
          kubeconfig,
          ...args,
        ]).catch(e =>
          Promise.reject({ code: 'kubectl', body: e.stderr.trim() }),
        ),
      );

    it('admits the Job core builds', async () => {
      expect(await createJob(base().job)).toBe('allowed');
    });

    const container = (job: Job) => job.spec!.template.spec!.containers[0];
    const VOLUMES = 'mount only the target PVC';
    const ENTRYPOINT = 'the kube-restore job image with its own entrypoint';
    const SA = "run as the namespace's default ServiceAccount";
    const ONE = 'exactly one container';
    const ENV = 'reads Secrets only as the S3 credentials variables';
    const hostile: [string, (job: Job) => void, string][] = [
      [
        'mounts a Secret',
        j => {
          j.spec!.template.spec!.volumes!.push({
            name: 'loot',
            secret: { secretName: 'anything' },
          });
          container(j).volumeMounts!.push({ name: 'loot', mountPath: '/loot' });
        },
        VOLUMES,
      ],
      [
        'mounts a projected ServiceAccount token',
        j => {
          j.spec!.template.spec!.volumes!.push({
            name: 't',
            projected: { sources: [{ serviceAccountToken: { path: 't' } }] },
          });
        },
        VOLUMES,
      ],
      [
        'overrides the command',
        j => (container(j).command = ['sh', '-c', 'env']),
        ENTRYPOINT,
      ],
      [
        'overrides the args',
        j => (container(j).args = ['--print-env']),
        ENTRYPOINT,
      ],
      [
        'runs another image',
        j => (container(j).image = 'docker.io/library/busybox:latest'),
        ENTRYPOINT,
      ],
      [
        'runs as another ServiceAccount',
        j => (j.spec!.template.spec!.serviceAccountName = 'deployer'),
        SA,
      ],
      [
        'mounts an API token',
        j => (j.spec!.template.spec!.automountServiceAccountToken = true),
        'without an API token',
      ],
      [
        'adds an init container',
        j =>
          (j.spec!.template.spec!.initContainers = [
            { ...container(j), name: 'first' },
          ]),
        ONE,
      ],
      [
        'adds a second container',
        j =>
          j.spec!.template.spec!.containers.push({
            ...container(j),
            name: 'sidecar',
          }),
        ONE,
      ],
      [
        'reads a whole Secret into env',
        j => (container(j).envFrom = [{ secretRef: { name: 'anything' } }]),
        ENV,
      ],
      [
        'reads a Secret into another variable',
        j =>
          container(j).env!.push({
            name: 'LOOT',
            valueFrom: { secretKeyRef: { name: 'anything', key: 'k' } },
          }),
        ENV,
      ],
      [
        "is not labelled as kube-restore's",
        j => delete j.metadata!.labels!['app.kubernetes.io/managed-by'],
        'managed-by=kube-restore',
      ],
    ];
    it.each(hostile)(
      'refuses a Job from the operator that %s',
      async (_what, change, reason) => {
        const job = base().job;
        change(job);
        const answer = await createJob(job);
        expect(answer).toMatch(
          /^422: .*ValidatingAdmissionPolicy 'kube-restore-operator-jobs' with binding 'kube-restore-operator-jobs' denied request/,
        );
        expect(answer).toContain(reason);
        // People restoring with their own identity (edit) are not the policy's business.
        expect(
          await createJob(job, clientsFrom(cluster.kubeconfig.alice)),
        ).toBe('allowed');
      },
    );

    it('admits a web-identity ServiceAccount only when the namespace lists it', async () => {
      const job = base().job;
      job.spec!.template.spec!.serviceAccountName = 'irsa-reader';
      expect(await createJob(job)).toMatch(/kube-restore.io\/service-accounts/);
      await kubectl(
        'annotate',
        'namespace',
        'team-a',
        'kube-restore.io/service-accounts=other,irsa-reader',
      );
      try {
        expect(
          await eventually(
            'the annotation to be seen',
            async () =>
              (await createJob(job)) === 'allowed' ? true : undefined,
            10_000,
          ),
        ).toBe(true);
      } finally {
        await kubectl(
          'annotate',
          'namespace',
          'team-a',
          'kube-restore.io/service-accounts-',
        );
      }
    });

    it('lets the operator resume its suspended Job and change nothing else; delete only its own Jobs', async () => {
      const job = base().job;
      job.metadata!.name = 'guarded-suspended';
      job.spec!.suspend = true;
      await operator.batch.createNamespacedJob({
        namespace: 'team-a',
        body: job,
      });
      // Someone else's Job (a Job without labels of its own takes its template's, so both are plain).
      const notOurs = base().job;
      notOurs.metadata = { name: 'not-ours', namespace: 'team-a' };
      notOurs.spec = {
        ...notOurs.spec!,
        suspend: true,
        template: {
          ...notOurs.spec!.template,
          metadata: { labels: { app: 'theirs' } },
        },
      };
      await admin.batch.createNamespacedJob({
        namespace: 'team-a',
        body: notOurs,
      });
      const op = cluster.kubeconfig.operator;
      try {
        const patch = (name: string, body: object) =>
          kubectlAs(
            op,
            'patch',
            'job',
            name,
            '-n',
            'team-a',
            '--type=merge',
            '-p',
            JSON.stringify(body),
            '--dry-run=server',
          );
        expect(
          await patch('guarded-suspended', { spec: { suspend: false } }),
        ).toBe('allowed');
        expect(
          await patch('guarded-suspended', {
            metadata: { labels: { extra: 'x' } },
          }),
        ).toMatch(/only resumes a suspended Job/);
        expect(
          await patch('guarded-suspended', {
            spec: { suspend: false, backoffLimit: 20 },
          }),
        ).toMatch(/only resumes a suspended Job/);
        expect(await patch('not-ours', { spec: { suspend: false } })).toMatch(
          /managed-by=kube-restore/,
        );
        const del = (name: string) =>
          kubectlAs(
            op,
            'delete',
            'job',
            name,
            '-n',
            'team-a',
            '--dry-run=server',
          );
        expect(await del('not-ours')).toMatch(/managed-by=kube-restore/);
        expect(await del('guarded-suspended')).toBe('allowed');
      } finally {
        await kubectl(
          'delete',
          'job',
          'guarded-suspended',
          'not-ours',
          '-n',
          'team-a',
          '--ignore-not-found',
        );
      }
    });

    it('lets the operator create only empty kube-restore PVCs and delete only those', async () => {
      const pvc = base().pvc!;
      const create = (body: typeof pvc) =>
        refusal(
          operator.core.createNamespacedPersistentVolumeClaim({
            namespace: 'team-a',
            body,
            dryRun: 'All',
          }),
        );
      expect(await create(pvc)).toBe('allowed');
      expect(
        await create({
          ...pvc,
          metadata: { name: 'plain', namespace: 'team-a' },
        }),
      ).toMatch(/kube-restore-operator-volumes/);
      expect(
        await create({
          ...pvc,
          spec: {
            ...pvc.spec,
            dataSource: {
              kind: 'PersistentVolumeClaim',
              name: 'someone-elses',
            },
          },
        }),
      ).toMatch(/kube-restore-operator-volumes/);
      await admin.core.createNamespacedPersistentVolumeClaim({
        namespace: 'team-a',
        body: {
          metadata: { name: 'precious' },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: '1Gi' } },
          },
        },
      });
      try {
        expect(
          await kubectlAs(
            cluster.kubeconfig.operator,
            'delete',
            'pvc',
            'precious',
            '-n',
            'team-a',
            '--dry-run=server',
          ),
        ).toMatch(/only deletes PVCs that kube-restore created/);
      } finally {
        await kubectl(
          'delete',
          'pvc',
          'precious',
          '-n',
          'team-a',
          '--wait=false',
        );
      }
    });

    it('lets the operator create only Opaque credentials Secrets owned by a Job', async () => {
      const owned = {
        ...buildRestoreManifests(
          parseRestoreRequest({
            source: { bucket: 'datasets', prefix: 'p/' },
            target: { namespace: 'team-a', pvc: 'x', size: '1Gi' },
          }),
          {
            credentials: {
              accessKeyId: 'AKIAEXAMPLE',
              secretAccessKey: 'example',
            },
          },
        ).secret!,
      };
      owned.metadata = {
        ...owned.metadata,
        ownerReferences: [
          {
            apiVersion: 'batch/v1',
            kind: 'Job',
            // the Secret is the Job's own: JOB-credentials
            name: owned.metadata!.name!.replace(/-credentials$/, ''),
            uid: 'dry-run',
            controller: true,
          },
        ],
      };
      const create = (body: typeof owned) =>
        refusal(
          operator.core.createNamespacedSecret({
            namespace: 'team-a',
            body,
            dryRun: 'All',
          }),
        );
      expect(await create(owned)).toBe('allowed');
      expect(
        await create({
          ...owned,
          metadata: { ...owned.metadata, ownerReferences: undefined },
        }),
      ).toMatch(/kube-restore-operator-secrets/);
      expect(
        await create({
          ...owned,
          type: 'kubernetes.io/service-account-token',
          metadata: {
            ...owned.metadata,
            annotations: { 'kubernetes.io/service-account.name': 'default' },
          },
          stringData: {},
        }),
      ).toMatch(/kube-restore-operator-secrets/);
    });
  });

  describe('Pod Security `restricted` in team-a', () => {
    const jobPod = () => {
      const { job } = buildRestoreManifests(
        parseRestoreRequest({
          source: { bucket: 'datasets', prefix: 'p/' },
          target: { namespace: 'team-a', pvc: 'psa', size: '1Gi' },
        }),
        {
          credentials: {
            accessKeyId: 'AKIAEXAMPLE',
            secretAccessKey: 'example',
          },
        },
      );
      return {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'psa-probe', namespace: 'team-a' },
        spec: structuredClone(job.spec!.template.spec!),
      };
    };
    type PodSpec = ReturnType<typeof jobPod>['spec'];
    const create = (spec: PodSpec) =>
      admin.core.createNamespacedPod({
        namespace: 'team-a',
        body: { ...jobPod(), spec },
        dryRun: 'All',
      });

    it('admits the pod of the Job core builds', async () => {
      await expect(create(jobPod().spec)).resolves.toMatchObject({
        metadata: { name: 'psa-probe' },
      });
    });

    const weakened: [string, (s: PodSpec) => void, RegExp][] = [
      [
        'privileged',
        s => {
          s.containers[0].securityContext!.privileged = true;
          delete s.containers[0].securityContext!.allowPrivilegeEscalation;
        },
        /privileged/,
      ],
      [
        'runs as root',
        s => {
          s.securityContext!.runAsUser = 0;
          delete s.securityContext!.runAsNonRoot;
          delete s.containers[0].securityContext!.runAsNonRoot;
        },
        /runAsUser=0/,
      ],
      [
        'no seccomp profile',
        s => {
          delete s.securityContext!.seccompProfile;
          delete s.containers[0].securityContext!.seccompProfile;
        },
        /seccompProfile/,
      ],
      [
        'privilege escalation allowed',
        s => (s.containers[0].securityContext!.allowPrivilegeEscalation = true),
        /allowPrivilegeEscalation != false/,
      ],
      [
        'capabilities not dropped',
        s =>
          (s.containers[0].securityContext!.capabilities = {
            add: ['NET_ADMIN'],
          }),
        /capabilities/,
      ],
      [
        'a hostPath volume',
        s => s.volumes!.push({ name: 'host', hostPath: { path: '/' } }),
        /hostPath/,
      ],
      ['the host network', s => (s.hostNetwork = true), /host namespaces/],
    ];

    it.each(weakened)(
      'rejects a job pod that is weakened: %s',
      async (_what, weaken, check) => {
        const spec = jobPod().spec;
        weaken(spec);
        const error = await create(spec).then(
          () => undefined,
          e => e,
        );
        expect(error).toBeDefined();
        expect(error.code).toBe(403);
        const message = apiStatusMessage(error);
        expect(message).toMatch(/violates PodSecurity "restricted:latest"/);
        expect(message).toMatch(check);
      },
    );
  });
});
