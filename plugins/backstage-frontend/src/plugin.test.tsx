/**
 * The legacy frontend system's entry (index.ts, plugin.ts, routes.ts), as an app on `createApp` uses
 * it: the plugin, its API factory, the page at its route ref and the entity tab, rendered with the real
 * client against the msw backend. The new frontend system's entry: alpha.test.tsx.
 */
import {
  TestApiProvider,
  mockApis,
  registerMswTestHooks,
  renderInTestApp,
} from '@backstage/test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { screen, within } from '@testing-library/react';
import { Route, Routes } from 'react-router-dom';
import {
  BASE_URL,
  HttpResponse,
  TestEventStream,
  discoveryApi,
  entity,
  fetchApi,
  http,
  restoreFixture,
  server,
  sources,
} from './__testUtils__/backend';
import {
  EntityRestoreContent,
  RestoreClient,
  RestorePage,
  isRestoreAvailable,
  restoreApiRef,
  restorePlugin,
  rootRouteRef,
} from './index';

registerMswTestHooks(server);
jest.setTimeout(20000);

beforeEach(() => {
  server.use(
    http.get(`${BASE_URL}/restores/:id/events`, ({ request }) =>
      new TestEventStream().response(request),
    ),
  );
});

describe('legacy frontend system (index.ts)', () => {
  it('is plugin "restore" with the page at rootRouteRef', () => {
    expect(restorePlugin.getId()).toBe('restore');
    expect(restorePlugin.routes).toEqual({ root: rootRouteRef });
  });

  it("provides restoreApiRef with a RestoreClient on the app's discovery and fetch APIs", async () => {
    const factories = [...restorePlugin.getApis()];
    expect(factories.map(f => f.api.id)).toEqual([restoreApiRef.id]);
    const [factory] = factories;
    expect(Object.keys(factory.deps).sort()).toEqual([
      'discoveryApi',
      'fetchApi',
    ]);
    let authorization: string | null = null;
    server.use(
      http.get(`${BASE_URL}/sources`, ({ request }) => {
        authorization = request.headers.get('authorization');
        return HttpResponse.json({ items: sources });
      }),
    );
    const client = factory.factory({ discoveryApi, fetchApi }) as RestoreClient;
    expect(client).toBeInstanceOf(RestoreClient);
    // the discovered base URL and the user's token: the factory wired both
    expect(await client.listSources()).toEqual(sources);
    expect(authorization).toBe('Bearer user-token');
  });

  it('RestorePage renders the restores when an app routes a path to it', async () => {
    server.use(
      http.get(`${BASE_URL}/restores`, () =>
        HttpResponse.json({
          items: [
            restoreFixture({
              name: 'restore-waiting',
              phase: 'PendingApproval',
            }),
          ],
        }),
      ),
    );
    await renderInTestApp(
      <TestApiProvider
        apis={[
          [restoreApiRef, new RestoreClient({ discoveryApi, fetchApi })],
          [permissionApiRef, mockApis.permission()],
        ]}
      >
        <Routes>
          <Route path="/restore" element={<RestorePage />} />
        </Routes>
      </TestApiProvider>,
      { routeEntries: ['/restore'] },
    );
    const approvals = await screen.findByRole('table', {
      name: 'Restores waiting for approval',
    });
    expect(within(approvals).getByText('restore-waiting')).toBeInTheDocument();
  });

  it("EntityRestoreContent renders the entity's restores and the restore button", async () => {
    server.use(
      http.get(`${BASE_URL}/restores`, () =>
        HttpResponse.json({
          items: [restoreFixture({ name: 'restore-legacy' })],
        }),
      ),
    );
    await renderInTestApp(
      <TestApiProvider
        apis={[
          [restoreApiRef, new RestoreClient({ discoveryApi, fetchApi })],
          [permissionApiRef, mockApis.permission()],
        ]}
      >
        <EntityProvider entity={entity}>
          <EntityRestoreContent />
        </EntityProvider>
      </TestApiProvider>,
    );
    const bar = await screen.findByRole('progressbar', {
      name: 'Restore progress restore-legacy',
    });
    expect(bar.closest('tr')).not.toBeNull();
    expect(
      screen.getByRole('button', { name: 'Restore data' }),
    ).toBeInTheDocument();
  });

  it('isRestoreAvailable: only entities that name a namespace get the tab', () => {
    expect(isRestoreAvailable(entity)).toBe(true);
    expect(
      isRestoreAvailable({
        ...entity,
        metadata: { name: 'x', annotations: {} },
      }),
    ).toBe(false);
  });
});
