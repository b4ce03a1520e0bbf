import { createRouteRef } from '@backstage/core-plugin-api';

/** The restores page (all restores the user may read, and approvals). */
export const rootRouteRef = createRouteRef({ id: 'restore' });
