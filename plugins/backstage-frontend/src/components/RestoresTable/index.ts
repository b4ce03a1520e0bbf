export { RestoresTable } from './RestoresTable';
export type { RestoresTableProps } from './RestoresTable';
export { PhaseStatus } from './PhaseStatus';
export { RestoreProgressBar } from './RestoreProgressBar';
