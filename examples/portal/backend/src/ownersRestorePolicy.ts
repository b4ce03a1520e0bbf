/*
 * The portal's permission policy: the restore plugin's permissions restore.create/read/delete (resource
 * permissions on catalog entities) are granted to the entity's owners, decided by the catalog's isEntityOwner
 * rule against the user's ownership refs; restore.approve to members of a group that
 * kubeRestore.approval.rules names as approvers (approvers are rarely the entity's owners; the restore
 * backend still requires an approver group of every rule the restore matched, and not the requester);
 * everything else is allowed (an example portal). The backend's cluster tests run on this policy.
 */
import {
  RootConfigService,
  UserInfoService,
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import {
  catalogConditions,
  createCatalogConditionalDecision,
} from '@backstage/plugin-catalog-backend/alpha';
import {
  AuthorizeResult,
  PolicyDecision,
  isResourcePermission,
} from '@backstage/plugin-permission-common';
import {
  PermissionPolicy,
  PolicyQuery,
  PolicyQueryUser,
} from '@backstage/plugin-permission-node';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';

export class OwnersRestorePolicy implements PermissionPolicy {
  private readonly approvers: Set<string>;

  constructor(
    private readonly userInfo: UserInfoService,
    config: RootConfigService,
  ) {
    this.approvers = new Set(
      (
        config.getOptionalConfigArray('kubeRestore.approval.rules') ?? []
      ).flatMap(rule => rule.getOptionalStringArray('approvers') ?? []),
    );
  }

  async handle(
    request: PolicyQuery,
    user?: PolicyQueryUser,
  ): Promise<PolicyDecision> {
    if (
      isResourcePermission(request.permission, 'catalog-entity') &&
      request.permission.name.startsWith('restore.')
    ) {
      const claims = user
        ? (await this.userInfo.getUserInfo(user.credentials))
            .ownershipEntityRefs
        : [];
      if (request.permission.name === 'restore.approve') {
        return {
          result: claims.some(ref => this.approvers.has(ref))
            ? AuthorizeResult.ALLOW
            : AuthorizeResult.DENY,
        };
      }
      return createCatalogConditionalDecision(
        request.permission,
        catalogConditions.isEntityOwner({ claims }),
      );
    }
    return { result: AuthorizeResult.ALLOW };
  }
}

export const ownersRestorePolicyModule = createBackendModule({
  pluginId: 'permission',
  moduleId: 'owners-restore-policy',
  register(reg) {
    reg.registerInit({
      deps: {
        policy: policyExtensionPoint,
        userInfo: coreServices.userInfo,
        config: coreServices.rootConfig,
      },
      async init({ policy, userInfo, config }) {
        policy.setPolicy(new OwnersRestorePolicy(userInfo, config));
      },
    });
  },
});
