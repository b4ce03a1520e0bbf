import {
  ApiBlueprint,
  coreExtensionData,
} from '@backstage/frontend-plugin-api';
import {
  createExtensionTester,
  mockApis,
  registerMswTestHooks,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { screen, within } from '@testing-library/react';
import {
  BASE_URL,
  HttpResponse,
  createClient,
  entity,
  http,
  restoreFixture,
  server,
} from './__testUtils__/backend';
import restorePlugin, {
  restoreApi,
  restoreEntityContent,
  restorePage,
} from './alpha';
import { restoreApiRef } from './api';

registerMswTestHooks(server);
jest.setTimeout(20000);

describe('new frontend system (./alpha)', () => {
  it('is plugin "restore" with its api, entity content and page', () => {
    expect(restorePlugin.pluginId).toBe('restore');
    expect(restorePlugin.getExtension('api:restore')).toBeDefined();
    expect(restorePlugin.getExtension('entity-content:restore')).toBeDefined();
    expect(restorePlugin.getExtension('page:restore')).toBeDefined();
  });

  it('provides the restore API client', () => {
    const factory = createExtensionTester(restoreApi).get(
      ApiBlueprint.dataRefs.factory,
    );
    expect(factory.api.id).toBe(restoreApiRef.id);
  });

  it('adds a "Restore" tab at restore, only for entities that name a namespace', () => {
    const tester = createExtensionTester(restoreEntityContent);
    expect(tester.get(coreExtensionData.routePath)).toBe('restore');
    expect(tester.get(EntityContentBlueprint.dataRefs.title)).toBe('Restore');
    const filter = tester.get(EntityContentBlueprint.dataRefs.filterFunction)!;
    expect(filter(entity)).toBe(true);
    expect(
      filter({ ...entity, metadata: { name: 'x', annotations: {} } }),
    ).toBe(false);
    expect(
      filter({
        ...entity,
        metadata: {
          name: 'x',
          annotations: { 'backstage.io/kubernetes-id': 'team-b' },
        },
      }),
    ).toBe(true);
  });

  it("renders the entity tab with the entity's restores", async () => {
    server.use(
      http.get(`${BASE_URL}/restores`, () =>
        HttpResponse.json({
          items: [restoreFixture({ name: 'restore-alpha' })],
        }),
      ),
    );
    const tester = createExtensionTester(restoreEntityContent);
    renderInTestApp(
      <EntityProvider entity={entity}>{tester.reactElement()}</EntityProvider>,
      { apis: [[restoreApiRef, createClient()], mockApis.permission()] },
    );
    const bar = await screen.findByRole('progressbar', {
      name: 'Restore progress restore-alpha',
    });
    expect(
      within(bar.closest('tr')!).getByText('Succeeded'),
    ).toBeInTheDocument();
    expect(
      screen.getByRole('button', { name: 'Restore data' }),
    ).toBeInTheDocument();
  });

  it('mounts the restores page at /restore', async () => {
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
    const tester = createExtensionTester(restorePage);
    expect(tester.get(coreExtensionData.routePath)).toBe('/restore');
    renderInTestApp(tester.reactElement(), {
      apis: [[restoreApiRef, createClient()], mockApis.permission()],
    });
    const approvals = await screen.findByRole('table', {
      name: 'Restores waiting for approval',
    });
    expect(within(approvals).getByText('restore-waiting')).toBeInTheDocument();
  });
});
