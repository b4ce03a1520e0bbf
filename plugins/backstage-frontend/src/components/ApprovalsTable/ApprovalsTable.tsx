import {
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  TextField,
} from '@material-ui/core';
import { Alert } from '@material-ui/lab';
import { formatBytes } from '@kube-restore/common';
import { useState } from 'react';
import type { Restore } from '../../api';
import { errorMessage, shortRef } from '../format';

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
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const verb = pending?.decision === 'approve' ? 'Approve' : 'Reject';

  const close = () => {
    setComment('');
    setError(undefined);
    onClose();
  };
  const confirm = async () => {
    if (!pending) return;
    setBusy(true);
    setError(undefined);
    try {
      await onDecide(pending.restore, pending.decision, comment || undefined);
      close();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog
      open={Boolean(pending)}
      onClose={busy ? undefined : close}
      aria-labelledby="restore-decision-title"
    >
      <DialogTitle id="restore-decision-title">
        {verb} restore {pending?.restore.name}?
      </DialogTitle>
      <DialogContent>
        <DialogContentText>
          {pending?.decision === 'approve'
            ? `Approving creates the restore in namespace ${pending?.restore.namespace} at once.`
            : 'Rejecting ends the request; nothing is created.'}
        </DialogContentText>
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
        {error && (
          <Alert severity="error" role="alert">
            {error}
          </Alert>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={close} disabled={busy}>
          Cancel
        </Button>
        <Button
          onClick={confirm}
          color={pending?.decision === 'approve' ? 'primary' : 'secondary'}
          variant="contained"
          disabled={busy}
        >
          {verb}
        </Button>
      </DialogActions>
    </Dialog>
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
