/*
 * The example portal's app on Backstage's new frontend system: the catalog, the scaffolder (Create), user settings (sign out) and
 * the kube-restore plugin from its `./alpha` entry point, plus this app's own module: a local-development
 * sign-in page and a redirect from / to the catalog.
 */
import { createApp } from '@backstage/frontend-defaults';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import userSettingsPlugin from '@backstage/plugin-user-settings/alpha';
import scaffolderPlugin from '@backstage/plugin-scaffolder/alpha';
import restorePlugin from '@kube-restore/backstage-plugin-restore/alpha';
import { portalAppModule } from './portalAppModule';

const app = createApp({
  features: [
    catalogPlugin,
    scaffolderPlugin,
    userSettingsPlugin,
    restorePlugin,
    portalAppModule,
  ],
});

export default app.createRoot();
