export { ApprovalsTable } from './ApprovalsTable';
export type { ApprovalsTableProps, Decision } from './ApprovalsTable';
