export { RestorePage } from './RestorePage';
