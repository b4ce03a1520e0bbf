/**
 * Permissions of the restore plugin: resource permissions on catalog entities (resource type
 * `catalog-entity`), so a policy decides with the catalog's own rules, for example
 * "owners may restore into their entity's namespace":
 *
 *   if (isResourcePermission(request.permission, 'catalog-entity') && request.permission.name.startsWith('restore.'))
 *     return createCatalogConditionalDecision(request.permission, catalogConditions.isEntityOwner({ claims: user.identity.ownershipEntityRefs }));
 *
 * The catalog evaluates the condition against the entity each route names.
 */
import { createPermission } from '@backstage/plugin-permission-common';

/** The catalog's resource type (`RESOURCE_TYPE_CATALOG_ENTITY` of @backstage/plugin-catalog-common/alpha). */
export const RESOURCE_TYPE_CATALOG_ENTITY = 'catalog-entity';

export const restoreCreatePermission = createPermission({
  name: 'restore.create',
  attributes: { action: 'create' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

export const restoreReadPermission = createPermission({
  name: 'restore.read',
  attributes: { action: 'read' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

export const restoreDeletePermission = createPermission({
  name: 'restore.delete',
  attributes: { action: 'delete' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

export const restoreApprovePermission = createPermission({
  name: 'restore.approve',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

export const restorePermissions = [
  restoreCreatePermission,
  restoreReadPermission,
  restoreDeletePermission,
  restoreApprovePermission,
];
