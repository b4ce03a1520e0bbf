import { Navigate } from 'react-router-dom';
import {
  PageBlueprint,
  createFrontendModule,
} from '@backstage/frontend-plugin-api';
import { SignInPageBlueprint } from '@backstage/plugin-app-react';

/** Local development only: pick one of the portal's two users, no password (see signIn/DevSignInPage). */
const devSignInPage = SignInPageBlueprint.make({
  params: {
    loader: () => import('./signIn/DevSignInPage').then(m => m.DevSignInPage),
  },
});

/** `/` shows the catalog. */
const homeRedirect = PageBlueprint.make({
  name: 'home-redirect',
  params: {
    path: '/',
    loader: async () => <Navigate to="/catalog" replace />,
  },
});

export const portalAppModule = createFrontendModule({
  pluginId: 'app',
  extensions: [devSignInPage, homeRedirect],
});
