import {
  StatusAborted,
  StatusError,
  StatusOK,
  StatusPending,
  StatusRunning,
} from '@backstage/core-components';
import type { RestoreRecordPhase } from '../../api';
import { phaseLabel } from '../format';

/** A phase with Backstage's status icon (which carries its own aria-label) and the phase in words. */
export function PhaseStatus(props: { phase: RestoreRecordPhase }) {
  const { phase } = props;
  const label = phaseLabel(phase);
  switch (phase) {
    case 'Succeeded':
      return <StatusOK>{label}</StatusOK>;
    case 'Failed':
      return <StatusError>{label}</StatusError>;
    case 'Rejected':
      return <StatusAborted>{label}</StatusAborted>;
    case 'Pending':
    case 'PendingApproval':
      return <StatusPending>{label}</StatusPending>;
    default:
      return <StatusRunning>{label}</StatusRunning>;
  }
}
