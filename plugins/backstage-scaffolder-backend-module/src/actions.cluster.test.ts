/*
 * The actions on the real harness (kube-apiserver with RBAC and Pod Security, the Job controller, a real
 * kubelet running the job image, MinIO), as a Backstage backend runs them: this module is added to a test
 * backend beside the restore backend plugin and the real catalog and permission backends of
 * plugins/backstage-backend/src/__testUtils__/backstage.ts. The scaffolder plugin itself is a stand-in
 * that only collects the actions from scaffolderActionsExtensionPoint (its runner is exercised by the
 * example portal's browser test); the actions get their auth and discovery from the backend, so the
 * restore backend sees the template's user, with the scaffolder as actor.
 * A missing prerequisite fails this file; nothing is skipped.
 */
import {
  CreateBucketCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createBackendPlugin } from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import {
  TemplateAction,
  scaffolderActionsExtensionPoint,
} from '@backstage/plugin-scaffolder-node';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { JsonObject } from '@backstage/types';
// eslint-disable-next-line @backstage/no-mixed-plugin-imports -- the test runs the actions against the real restore backend
import restorePlugin from '@kube-restore/backstage-plugin-restore-backend';
import { Cluster, startCluster } from '@kube-restore/test-cluster';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
/* eslint-disable @backstage/no-relative-monorepo-imports -- the restore backend's real Backstage parts and its SQLite helper, not copies */
import {
  ALICE,
  BOB,
  PEOPLE_FILE,
  catalogReady,
  realBackstage,
} from '../../backstage-backend/src/__testUtils__/backstage';
import { sqliteFile } from '../../backstage-backend/src/__testUtils__/fakes';
/* eslint-enable @backstage/no-relative-monorepo-imports */
import scaffolderModuleRestore from './index';

jest.setTimeout(240_000);

const REPO = path.resolve(__dirname, '../../..');
const DEPLOY = path.join(REPO, 'deploy');
const CATALOG = [
  PEOPLE_FILE,
  path.join(
    REPO,
    'plugins/backstage-backend/src/__testUtils__/catalog.cluster.yaml',
  ),
];
const FILES: Record<string, string> = {
  'a.txt': 'alpha\n',
  'sub/b.txt': 'bravo bravo\n',
};
const run = promisify(execFile);

let cluster: Cluster;
let stop: (() => Promise<void>) | undefined;
const actions = new Map<string, TemplateAction<any, any, any>>();

/** The scaffolder plugin as far as its modules see it: the actions extension point. */
const scaffolderStandIn = createBackendPlugin({
  pluginId: 'scaffolder',
  register(env) {
    env.registerExtensionPoint(scaffolderActionsExtensionPoint, {
      addActions: (...added) => added.forEach(a => actions.set(a.id, a)),
    });
    env.registerInit({ deps: {}, async init() {} });
  },
});

async function kubectl(...args: string[]) {
  try {
    return await run(cluster.binaries.kubectl, [
      '--kubeconfig',
      cluster.kubeconfig.admin,
      ...args,
    ]);
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(
      `kubectl ${args.join(' ')} failed: ${e.stderr || e.message}`,
    );
  }
}

function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.name === '.kube-restore') continue;
      if (entry.isDirectory()) walk(path.join(d, entry.name), r);
      else out[r] = fs.readFileSync(path.join(d, entry.name), 'utf8');
    }
  };
  walk(dir, '');
  return out;
}

/** A mock action context for `user`'s task (createMockActionContext drops getInitiatorCredentials). */
function contextAs(user: string, input: JsonObject) {
  return {
    ...createMockActionContext({ input }),
    getInitiatorCredentials: async () => mockCredentials.user(user),
  };
}

/** The outputs a step set, by name. */
function outputsOf(ctx: { output: unknown }): Record<string, unknown> {
  return Object.fromEntries((ctx.output as jest.Mock).mock.calls);
}

beforeAll(async () => {
  cluster = await startCluster();
  if (!cluster.s3) throw new Error('the harness started without MinIO');
  const token = /token: (\S+)/.exec(
    fs.readFileSync(cluster.kubeconfig.operator, 'utf8'),
  )?.[1];
  if (!token) throw new Error(`no token in ${cluster.kubeconfig.operator}`);
  // Installed as deploy/README.md says; team-a opts in and consents to its own team.
  await kubectl('apply', '-k', DEPLOY);
  await kubectl(
    'apply',
    '-k',
    path.join(DEPLOY, 'rbac', 'opt-in'),
    '-n',
    'team-a',
  );
  await kubectl(
    '-n',
    'team-a',
    'annotate',
    'rolebinding',
    'kube-restore-operator',
    '--overwrite',
    'kube-restore.io/backstage-owners=group:default/team-a',
  );
  const s3 = new S3Client({
    endpoint: cluster.s3.endpoint,
    region: cluster.s3.region,
    forcePathStyle: true,
    credentials: {
      accessKeyId: cluster.s3.accessKeyId,
      secretAccessKey: cluster.s3.secretAccessKey,
    },
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'backups' }));
  for (const [name, body] of Object.entries(FILES))
    await s3.send(
      new PutObjectCommand({
        Bucket: 'backups',
        Key: `team-a/shop/data/${name}`,
        Body: body,
      }),
    );
  s3.destroy();

  const db = sqliteFile();
  const backstage = realBackstage({
    catalogFiles: CATALOG,
    restoreKnex: db.knex,
  });
  const backend = await startTestBackend({
    features: [
      restorePlugin,
      scaffolderStandIn,
      scaffolderModuleRestore,
      ...backstage.features,
      mockServices.rootConfig.factory({
        data: {
          ...backstage.config,
          kubeRestore: {
            clusters: [
              {
                name: 'local',
                url: cluster.server,
                caData: cluster.ca,
                serviceAccountToken: token,
              },
            ],
            sources: [
              {
                name: 'nightly',
                endpoint: cluster.s3.endpoint,
                region: cluster.s3.region,
                bucket: 'backups',
                prefix: '${namespace}/${entity}/',
                credentials: {
                  accessKeyId: cluster.s3.accessKeyId,
                  secretAccessKey: cluster.s3.secretAccessKey,
                },
              },
            ],
          },
        },
      }),
    ],
  });
  stop = async () => {
    await backend.stop();
    await backstage.destroy();
    await db.knex.destroy();
  };
  await catalogReady(backend.server, [ALICE, BOB, 'component:default/shop']);
}, 480_000);

afterAll(async () => {
  await stop?.();
  await cluster?.stop();
}, 60_000);

describe('kube-restore scaffolder actions on a real cluster', () => {
  it('the module adds both actions to the scaffolder', () => {
    expect([...actions.keys()].sort()).toEqual([
      'kube-restore:create',
      'kube-restore:wait',
    ]);
  });

  it("create then wait, for the template's user: the data is in a new PVC", async () => {
    const create = contextAs(ALICE, {
      entityRef: 'component:default/shop',
      source: { name: 'nightly', path: 'data/' },
      target: { pvc: 'scaffolded-data', mode: 'new', size: '1Gi' },
    });
    await actions.get('kube-restore:create')!.handler(create as never);
    const created = outputsOf(create);
    expect(created).toMatchObject({
      id: expect.any(String),
      name: expect.stringMatching(/^restore-scaffolded-data-/),
      cluster: 'local',
      namespace: 'team-a',
      pvc: 'scaffolded-data',
      phase: expect.stringMatching(
        /^(Pending|Running|Listing|Downloading|Verifying|Succeeded)$/,
      ),
    });
    // The Job exists, labelled with the template's user as requester.
    const job = await cluster.admin.get(
      `/apis/batch/v1/namespaces/team-a/jobs/${created.name}`,
    );
    expect(JSON.stringify(job.metadata)).toContain('alice');

    const wait = contextAs(ALICE, {
      id: created.id as string,
      timeoutSeconds: 180,
      pollSeconds: 1,
    });
    await actions.get('kube-restore:wait')!.handler(wait as never);
    expect(outputsOf(wait)).toMatchObject({
      phase: 'Succeeded',
      pvc: 'scaffolded-data',
      bytes: 18,
      durationMs: expect.any(Number),
      summary: expect.stringMatching(
        /^restore restore-scaffolded-data-\S+ into PVC scaffolded-data in local\/team-a: Succeeded, (2 object\(s\) )?18 B in \d+\.\d s$/,
      ),
    });
    expect(
      readTree(await cluster.pvcPath('team-a', 'scaffolded-data')),
    ).toEqual(FILES);
  });

  it('wait fails the step with the error code when the restore fails', async () => {
    const create = contextAs(ALICE, {
      entityRef: 'component:default/shop',
      source: { name: 'nightly', path: 'missing/' },
      target: { pvc: 'scaffolded-empty', mode: 'new', size: '1Gi' },
    });
    await actions.get('kube-restore:create')!.handler(create as never);
    const wait = contextAs(ALICE, {
      id: outputsOf(create).id as string,
      timeoutSeconds: 180,
      pollSeconds: 1,
    });
    await expect(
      actions.get('kube-restore:wait')!.handler(wait as never),
    ).rejects.toThrow(
      /^restore restore-scaffolded-empty-\S+ failed: NO_OBJECTS: /,
    );
    expect(outputsOf(wait)).toMatchObject({ phase: 'Failed' });
  });

  it('a user who does not own the entity is refused, and no Job or PVC appears', async () => {
    const create = contextAs(BOB, {
      entityRef: 'component:default/shop',
      source: { name: 'nightly', path: 'data/' },
      target: { pvc: 'bob-data', mode: 'new', size: '1Gi' },
    });
    await expect(
      actions.get('kube-restore:create')!.handler(create as never),
    ).rejects.toThrow(
      'POST /api/restore/restores answered 403 NotAllowedError: you may not create restores for component:default/shop',
    );
    await expect(
      cluster.admin.get(
        '/api/v1/namespaces/team-a/persistentvolumeclaims/bob-data',
      ),
    ).rejects.toMatchObject({ statusCode: 404 });
  });
});
