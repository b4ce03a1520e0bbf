export { RestoreDialog } from './RestoreDialog';
export type { RestoreDialogProps } from './RestoreDialog';
export { PlanSummary } from './PlanSummary';
