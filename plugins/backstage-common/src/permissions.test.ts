import { isResourcePermission } from '@backstage/plugin-permission-common';
import * as exported from './permissions';
import {
  RESOURCE_TYPE_CATALOG_ENTITY,
  restorePermissions,
} from './permissions';

describe('restore permissions', () => {
  const declared = Object.entries(exported)
    .filter(([key]) => key.endsWith('Permission'))
    .map(([, value]) => value);

  it('registers every permission it declares, once', () => {
    expect(declared.length).toBeGreaterThan(0);
    expect(new Set(restorePermissions)).toEqual(new Set(declared));
    const names = restorePermissions.map(p => p.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('are resource permissions on catalog entities named restore.*, so catalog conditions decide them', () => {
    for (const permission of restorePermissions) {
      expect(permission.name).toMatch(/^restore\.[a-z]+$/);
      expect(
        isResourcePermission(permission, RESOURCE_TYPE_CATALOG_ENTITY),
      ).toBe(true);
    }
  });
});
