export { EntityRestoreContent } from './EntityRestoreContent';
