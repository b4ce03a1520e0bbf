/*
 * The example portal's backend: app (serves the built app), auth with a local-development sign-in, catalog,
 * permissions with an "owners may restore" policy, and the kube-restore backend plugin.
 * Started by examples/portal/e2e (npm run portal, the browser test) with the config they generate.
 */
import { createBackend } from '@backstage/backend-defaults';
import { devSignInModule } from './devSignIn';
import { ownersRestorePolicyModule } from './ownersRestorePolicy';

const backend = createBackend();

backend.add(import('@backstage/plugin-app-backend'));
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(devSignInModule);
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(import('@backstage/plugin-permission-backend'));
backend.add(ownersRestorePolicyModule);
backend.add(import('@kube-restore/backstage-plugin-restore-backend'));

backend.start();
