export { restoreApiRef } from './RestoreApi';
export type { RestoreApi } from './RestoreApi';
export { RestoreClient, RestoreStreamError } from './RestoreClient';
export * from './types';
