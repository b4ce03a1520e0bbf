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
import { createBackendPlugin } from '@backstage/backend-plugin-api';
import { mockCredentials } from '@backstage/backend-test-utils';
import {
  TemplateAction,
  scaffolderActionsExtensionPoint,
} from '@backstage/plugin-scaffolder-node';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { JsonObject } from '@backstage/types';
// eslint-disable-next-line @backstage/no-mixed-plugin-imports -- the test runs the actions against the real restore backend
import restorePlugin from '@kube-restore/backstage-plugin-restore-backend';
import { Cluster, startCluster } from '@kube-restore/test-cluster';
/* eslint-disable @backstage/no-relative-monorepo-imports -- the restore backend's real Backstage parts and its harness set-up, not copies */
import {
  ALICE,
  BOB,
} from '../../backstage-backend/src/__testUtils__/backstage';
import {
  FILES,
  installForTeams,
  localClusters,
  nightlySource,
  readTree,
  seedBackups,
  startClusterBackend,
} from '../../backstage-backend/src/__testUtils__/harness';
/* eslint-enable @backstage/no-relative-monorepo-imports */
import scaffolderModuleRestore from './index';

jest.setTimeout(240_000);

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
  // Installed as deploy/README.md says; team-a opts in and consents to its own team.
  const token = await installForTeams(cluster, ['team-a']);
  await seedBackups(cluster, ['team-a/shop/data/']);
  const backend = await startClusterBackend({
    features: [restorePlugin, scaffolderStandIn, scaffolderModuleRestore],
    data: {
      kubeRestore: {
        clusters: localClusters(cluster, token),
        sources: [nightlySource(cluster)],
      },
    },
    entities: [ALICE, BOB, 'component:default/shop'],
  });
  stop = backend.stop;
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
