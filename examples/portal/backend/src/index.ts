/*
 * The example portal's backend: app (serves the built app), auth with a local-development sign-in, catalog,
 * permissions with an "owners may restore" policy, the kube-restore backend plugin, and the scaffolder with
 * kube-restore's actions (examples/portal/template.yaml).
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
// the Template kind in the catalog (examples/portal/template.yaml)
backend.add(
  import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
);
backend.add(import('@backstage/plugin-permission-backend'));
backend.add(ownersRestorePolicyModule);
backend.add(import('@kube-restore/backstage-plugin-restore-backend'));
backend.add(import('@backstage/plugin-scaffolder-backend'));
backend.add(
  import('@kube-restore/backstage-plugin-scaffolder-backend-module-restore'),
);

backend.start();
