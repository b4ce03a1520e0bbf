/*
 * LOCAL DEVELOPMENT ONLY: auth provider `dev`, a proxy provider that signs in whichever user the request
 * names in header `x-portal-dev-user`, if `auth.providers.dev.users` lists it, as that catalog User (so
 * ownership comes from the catalog). It has no password on purpose: the example portal needs an owner and a
 * non-owner of one entity on a laptop. It refuses to start unless `auth.environment` is `development`.
 */
import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { InputError, NotAllowedError } from '@backstage/errors';
import {
  authProvidersExtensionPoint,
  createProxyAuthProviderFactory,
  createProxyAuthenticator,
} from '@backstage/plugin-auth-node';

export const DEV_USER_HEADER = 'x-portal-dev-user';
const USER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

interface DevUser {
  name: string;
}

export const devAuthenticator = createProxyAuthenticator<
  { users: string[] },
  DevUser,
  undefined
>({
  defaultProfileTransform: async result => ({
    profile: { displayName: result.name },
  }),
  initialize({ config }) {
    const users = config.getStringArray('users');
    for (const [i, user] of users.entries()) {
      if (!USER_NAME.test(user)) {
        throw new InputError(
          `auth.providers.dev.users[${i}]: "${user}" is not a user entity name`,
        );
      }
    }
    return { users };
  },
  async authenticate({ req }, { users }) {
    const name = req.header(DEV_USER_HEADER);
    if (!name) {
      throw new InputError(`header ${DEV_USER_HEADER} names no user`);
    }
    if (!users.includes(name)) {
      throw new NotAllowedError(
        `"${name}" is not one of the portal's development users (${users.join(', ')})`,
      );
    }
    return { result: { name } };
  },
});

export const devSignInModule = createBackendModule({
  pluginId: 'auth',
  moduleId: 'portal-dev-sign-in',
  register(reg) {
    reg.registerInit({
      deps: {
        providers: authProvidersExtensionPoint,
        config: coreServices.rootConfig,
      },
      async init({ providers, config }) {
        const environment = config.getOptionalString('auth.environment');
        if (environment !== 'development') {
          throw new Error(
            `the portal's dev sign-in (auth provider "dev") runs only with auth.environment: development, not ${environment ?? '(unset)'}`,
          );
        }
        providers.registerProvider({
          providerId: 'dev',
          factory: createProxyAuthProviderFactory({
            authenticator: devAuthenticator,
            async signInResolver({ result }, ctx) {
              return ctx.signInWithCatalogUser({
                entityRef: stringifyEntityRef({
                  kind: 'User',
                  namespace: 'default',
                  name: result.name,
                }),
              });
            },
          }),
        });
      },
    });
  },
});
