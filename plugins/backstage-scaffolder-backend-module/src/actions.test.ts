/*
 * The actions with the scaffolder's test utilities (createMockActionContext), against the real restore
 * backend plugin in a test backend without a cluster (plugins/backstage-backend/src/__testUtils__/backend.ts:
 * its catalog, an "owners may restore" policy and a stand-in apiserver that answers only the consent read).
 * Inputs are checked the way the scaffolder's runner checks them: the action's JSON schema, with jsonschema.
 * A real restore into a new PVC is in actions.cluster.test.ts.
 */
import { JsonObject } from '@backstage/types';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { validate } from 'jsonschema';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports -- the restore backend's own test backend, not a copy
import { useTestBackends } from '../../backstage-backend/src/__testUtils__/backend';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports -- its users
import { ALICE, BOB } from '../../backstage-backend/src/__testUtils__/fakes';
import { createRestoreAction } from './actions/create';
import { waitRestoreAction } from './actions/wait';
import { RestoreBackendClient } from './client';

const INPUT = {
  entityRef: 'component:default/shop',
  source: { name: 'nightly', path: 'data/' },
  target: { pvc: 'shop-data', mode: 'new', size: '1Gi' },
};

/** The actions as the scaffolder module builds them, talking to `server` as the scaffolder plugin would. */
function actionsFor(server: { port(): number }) {
  const client = new RestoreBackendClient({
    auth: mockServices.auth({ pluginId: 'scaffolder' }),
    discovery: {
      getBaseUrl: async id => `http://127.0.0.1:${server.port()}/api/${id}`,
      getExternalBaseUrl: async id =>
        `http://127.0.0.1:${server.port()}/api/${id}`,
    },
  });
  return {
    create: createRestoreAction({ client }),
    wait: waitRestoreAction({ client }),
  };
}

/**
 * A mock action context for `user`'s task. createMockActionContext always answers one mock user from
 * getInitiatorCredentials (it drops that option), so the context's credentials are set after it.
 */
function contextAs(user: string, input: JsonObject) {
  return {
    ...createMockActionContext({ input }),
    getInitiatorCredentials: async () => mockCredentials.user(user),
  };
}

/** What the scaffolder's runner says about an input: the action's JSON schema, checked with jsonschema. */
function inputErrors(
  action:
    | ReturnType<typeof createRestoreAction>
    | ReturnType<typeof waitRestoreAction>,
  input: unknown,
): string[] {
  return validate(input, action.schema!.input!).errors.map(e => e.stack);
}

describe('kube-restore:create and kube-restore:wait (no cluster)', () => {
  const { started, clusterRequests } = useTestBackends();

  it('their input schemas refuse what the restore API would refuse, naming the field', () => {
    const { create, wait } = actionsFor({ port: () => 1 });
    expect(inputErrors(create, INPUT)).toEqual([]);
    expect(inputErrors(create, { ...INPUT, entityRef: undefined })).toEqual([
      expect.stringMatching(/requires property "entityRef"/),
    ]);
    expect(
      inputErrors(create, {
        ...INPUT,
        source: { name: 'nightly', archiveTier: 'Slow' },
      }),
    ).toEqual([expect.stringMatching(/instance.source.archiveTier/)]);
    expect(
      inputErrors(create, { ...INPUT, target: { pvc: 'x', sizee: '1Gi' } }),
    ).toEqual([expect.stringMatching(/instance.target .*sizee/)]);
    expect(inputErrors(create, { ...INPUT, target: { mode: 'new' } })).toEqual([
      expect.stringMatching(/instance.target requires property "pvc"/),
    ]);
    expect(inputErrors(wait, { id: 'abc', timeoutSeconds: 86401 })).toEqual([
      expect.stringMatching(/instance.timeoutSeconds/),
    ]);
    expect(inputErrors(wait, {})).toEqual([
      expect.stringMatching(/requires property "id"/),
    ]);
  });

  it('a bad value the schema lets through is refused by the restore API, and the step fails with its message', async () => {
    const { server } = await started();
    const { create } = actionsFor(server);
    const ctx = contextAs(ALICE, {
      ...INPUT,
      target: { pvc: 'Not_A_Name', size: '1Gi' },
    });
    await expect(create.handler(ctx as never)).rejects.toThrow(
      /POST \/api\/restore\/restores answered 400 InputError: .*target\.pvc/,
    );
    expect(ctx.output).not.toHaveBeenCalled();
  });

  it("acts for the template's user: a user who does not own the entity is refused (403) and nothing reaches the cluster", async () => {
    const { server, audit } = await started();
    const { create } = actionsFor(server);
    const before = clusterRequests().length;
    const ctx = contextAs(BOB, INPUT);
    await expect(create.handler(ctx as never)).rejects.toThrow(
      'POST /api/restore/restores answered 403 NotAllowedError: you may not create restores for component:default/shop',
    );
    expect(ctx.output).not.toHaveBeenCalled();
    expect(clusterRequests().slice(before)).toEqual([]);
    expect(audit).toEqual([]);
  });

  it("the namespace's consent applies as on the HTTP route: an owner's entity annotated with another team's namespace is refused", async () => {
    const { server } = await started();
    const { create } = actionsFor(server);
    const ctx = contextAs(ALICE, {
      ...INPUT,
      entityRef: 'component:default/intruder',
    });
    await expect(create.handler(ctx as never)).rejects.toThrow(
      /403 NotAllowedError: namespace team-b on cluster local does not allow Backstage restores for group:default\/team-a/,
    );
    expect(clusterRequests().at(-1)).toBe(
      'GET /apis/rbac.authorization.k8s.io/v1/namespaces/team-b/rolebindings/kube-restore-operator',
    );
  });

  it('a dry run plans and creates nothing', async () => {
    const { server } = await started();
    const { create } = actionsFor(server);
    const before = clusterRequests().length;
    const ctx = { ...contextAs(ALICE, INPUT), isDryRun: true };
    await create.handler(ctx as never);
    expect(Object.fromEntries((ctx.output as jest.Mock).mock.calls)).toEqual({
      id: '',
      name: expect.stringMatching(/^restore-shop-data-/),
      cluster: 'local',
      namespace: 'team-a',
      pvc: 'shop-data',
      phase: 'DryRun',
      summary: expect.stringMatching(
        /^dry run: restore restore-shop-data-\S+ of .* into PVC shop-data in local\/team-a$/,
      ),
    });
    // Reads only (the consent, the PVC, access reviews); no Job, PVC or Secret is created.
    expect(
      clusterRequests()
        .slice(before)
        .filter(r =>
          /^POST .*\/(jobs|persistentvolumeclaims|secrets)$/.test(r),
        ),
    ).toEqual([]);
  });

  it('a restore that needs an approval: create says so, and wait gives up at its timeout', async () => {
    const { server } = await started();
    const { create, wait } = actionsFor(server);
    const ctx = contextAs(ALICE, {
      ...INPUT,
      source: { name: 'nightly', path: 'data/', archiveTier: 'Expedited' },
    });
    await create.handler(ctx as never);
    const out = Object.fromEntries((ctx.output as jest.Mock).mock.calls);
    expect(out).toMatchObject({
      phase: 'PendingApproval',
      summary: expect.stringMatching(/: waits for approval \(.*Expedited/),
    });
    const waiting = contextAs(ALICE, {
      id: out.id,
      timeoutSeconds: 1,
      pollSeconds: 1,
    });
    const began = Date.now();
    await expect(wait.handler(waiting as never)).rejects.toThrow(
      /^restore restore-shop-data-\S+ did not end within 1 s: .*waits for approval/,
    );
    expect(Date.now() - began).toBeLessThan(5000);
  });

  it('wait fails the step for a restore the user cannot see', async () => {
    const { server } = await started();
    const { wait } = actionsFor(server);
    const ctx = contextAs(ALICE, { id: 'no-such-restore', timeoutSeconds: 5 });
    await expect(wait.handler(ctx as never)).rejects.toThrow(
      /GET \/api\/restore\/restores\/no-such-restore answered 404 NotFoundError/,
    );
  });
});
