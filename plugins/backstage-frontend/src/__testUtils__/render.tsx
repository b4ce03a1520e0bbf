import { Entity } from '@backstage/catalog-model';
import {
  TestApiProvider,
  mockApis,
  renderInTestApp,
} from '@backstage/test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { ReactElement } from 'react';
import { SWRConfig } from 'swr';
import { RestoreApi, restoreApiRef } from '../api/RestoreApi';
import { createClient, entity as defaultEntity } from './backend';

export interface RenderOptions {
  /** Which permissions (by name) are denied; all others are allowed. */
  deny?: string[];
  entity?: Entity;
  api?: RestoreApi;
}

/** Renders inside a legacy test app with the real client against msw, a permission mock and an entity. */
export function renderWithApis(
  element: ReactElement,
  options: RenderOptions = {},
) {
  const deny = new Set(options.deny ?? []);
  const permissionApi = mockApis.permission({
    authorize: request =>
      deny.has(request.permission.name)
        ? AuthorizeResult.DENY
        : AuthorizeResult.ALLOW,
  });
  // usePermission caches decisions in SWR's global cache; each render starts with an empty one.
  return renderInTestApp(
    <SWRConfig value={{ provider: () => new Map() }}>
      <TestApiProvider
        apis={[
          [restoreApiRef, options.api ?? createClient()],
          [permissionApiRef, permissionApi],
        ]}
      >
        <EntityProvider entity={options.entity ?? defaultEntity}>
          {element}
        </EntityProvider>
      </TestApiProvider>
    </SWRConfig>,
  );
}
