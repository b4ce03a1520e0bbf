/**
 * The restore backend's permissions, for `usePermission` in the browser. They are resource permissions on
 * catalog entities; the backend (plugins/backstage-backend/src/permissions.ts) defines the same names and
 * decides. The browser only uses them to explain up front what the backend would refuse.
 */
import { createPermission } from '@backstage/plugin-permission-common';

export const restoreCreatePermission = createPermission({
  name: 'restore.create',
  attributes: { action: 'create' },
  resourceType: 'catalog-entity',
});

export const restoreReadPermission = createPermission({
  name: 'restore.read',
  attributes: { action: 'read' },
  resourceType: 'catalog-entity',
});

export const restoreDeletePermission = createPermission({
  name: 'restore.delete',
  attributes: { action: 'delete' },
  resourceType: 'catalog-entity',
});

export const restoreApprovePermission = createPermission({
  name: 'restore.approve',
  attributes: { action: 'update' },
  resourceType: 'catalog-entity',
});
