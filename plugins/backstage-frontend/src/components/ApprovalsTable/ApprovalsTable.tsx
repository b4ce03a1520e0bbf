import {
  Button,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  TextField,
} from '@material-ui/core';
import { formatBytes } from '@kube-restore/common';
import { useState } from 'react';
import type { Restore } from '../../api';
import { ConfirmDialog } from '../ConfirmDialog';
import { shortRef } from '../format';

export type Decision = 'approve' | 'reject';

export interface ApprovalsTableProps {
  /** Restores waiting for approval. */
  restores: Restore[];
  /** Approves or rejects; throws the backend's error, which the dialog shows. */
  onDecide: (
    restore: Restore,
    decision: Decision,
    comment?: string,
  ) => Promise<void>;
}

function DecisionDialog(props: {
  pending?: { restore: Restore; decision: Decision };
  onClose: () => void;
  onDecide: ApprovalsTableProps['onDecide'];
}) {
  const { pending, onClose, onDecide } = props;
  const [comment, setComment] = useState('');
  const approve = pending?.decision === 'approve';
  const close = () => {
    setComment('');
    onClose();
  };
  return (
    <ConfirmDialog
      open={Boolean(pending)}
      id="restore-decision"
      title={`${approve ? 'Approve' : 'Reject'} restore ${pending?.restore.name}?`}
      description={
        approve
          ? `Approving creates the restore in namespace ${pending?.restore.namespace} at once.`
          : 'Rejecting ends the request; nothing is created.'
      }
      confirmLabel={approve ? 'Approve' : 'Reject'}
      confirmColor={approve ? 'primary' : 'secondary'}
      onConfirm={async () => {
        if (pending)
          await onDecide(
            pending.restore,
            pending.decision,
            comment || undefined,
          );
      }}
      onClose={close}
    >
      <TextField
        id="restore-decision-comment"
        label="Comment (optional)"
        value={comment}
        onChange={e => setComment(e.target.value)}
        inputProps={{ maxLength: 2000 }}
        multiline
        minRows={2}
        fullWidth
      />
    </ConfirmDialog>
  );
}

/** Restores waiting for an approver: who asked, what, why it needs approval; Approve and Reject. */
export function ApprovalsTable(props: ApprovalsTableProps) {
  const { restores, onDecide } = props;
  const [pending, setPending] = useState<{
    restore: Restore;
    decision: Decision;
  }>();
  return (
    <>
      <Table size="small" aria-label="Restores waiting for approval">
        <TableHead>
          <TableRow>
            <TableCell>Restore</TableCell>
            <TableCell>Entity</TableCell>
            <TableCell>PVC</TableCell>
            <TableCell>Size</TableCell>
            <TableCell>Requester</TableCell>
            <TableCell>Why</TableCell>
            <TableCell>Decision</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {restores.map(restore => (
            <TableRow key={restore.id} data-restore={restore.name}>
              <TableCell>{restore.name}</TableCell>
              <TableCell>{restore.entityRef}</TableCell>
              <TableCell>
                <code>{restore.pvc}</code> in {restore.namespace} (
                {restore.cluster})
              </TableCell>
              <TableCell>
                {restore.plannedBytes !== undefined
                  ? formatBytes(restore.plannedBytes)
                  : '-'}
              </TableCell>
              <TableCell>
                <span title={restore.requester}>
                  {shortRef(restore.requester)}
                </span>
              </TableCell>
              <TableCell>
                {restore.approval?.reasons.map(reason => (
                  <div key={reason.rule}>
                    {reason.reason} (approvers: {reason.approvers.join(', ')})
                  </div>
                ))}
              </TableCell>
              <TableCell>
                <Button
                  size="small"
                  color="primary"
                  onClick={() => setPending({ restore, decision: 'approve' })}
                >
                  Approve
                </Button>
                <Button
                  size="small"
                  color="secondary"
                  onClick={() => setPending({ restore, decision: 'reject' })}
                >
                  Reject
                </Button>
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
      <DecisionDialog
        pending={pending}
        onClose={() => setPending(undefined)}
        onDecide={onDecide}
      />
    </>
  );
}
