import {
  Button,
  Checkbox,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  FormControlLabel,
} from '@material-ui/core';
import { Alert } from '@material-ui/lab';
import { useEffect, useState } from 'react';
import type { Restore } from '../../api';
import { errorMessage } from '../format';

export interface DeleteRestoreDialogProps {
  /** The restore to delete; the dialog is open while set. */
  restore?: Restore;
  onClose: () => void;
  /** Deletes; throws the backend's error, which the dialog shows. */
  onDelete: (restore: Restore, deletePvc: boolean) => Promise<void>;
}

/** "Delete restore x?" with the choice to delete the PVC too (only one the restore created). */
export function DeleteRestoreDialog(props: DeleteRestoreDialogProps) {
  const { restore, onClose, onDelete } = props;
  const [deletePvc, setDeletePvc] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  useEffect(() => {
    setDeletePvc(false);
    setError(undefined);
    setBusy(false);
  }, [restore?.id]);

  const confirm = async () => {
    if (!restore) return;
    setBusy(true);
    setError(undefined);
    try {
      await onDelete(restore, deletePvc);
      onClose();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog
      open={Boolean(restore)}
      onClose={busy ? undefined : onClose}
      aria-labelledby="delete-restore-title"
      aria-describedby="delete-restore-description"
    >
      <DialogTitle id="delete-restore-title">
        Delete restore {restore?.name}?
      </DialogTitle>
      <DialogContent>
        <DialogContentText id="delete-restore-description">
          {restore?.phase === 'PendingApproval'
            ? 'This withdraws the request; nothing was created in the cluster yet.'
            : `This deletes the restore's Job and its pods, and stops it if it is still running. The data already written to PVC ${restore?.pvc} stays unless you delete the PVC too.`}
        </DialogContentText>
        <FormControlLabel
          control={
            <Checkbox
              checked={deletePvc}
              onChange={e => setDeletePvc(e.target.checked)}
            />
          }
          label={`Also delete PVC ${restore?.pvc ?? ''} (only if this restore created it)`}
        />
        {error && (
          <Alert severity="error" role="alert">
            {error}
          </Alert>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose} disabled={busy}>
          Cancel
        </Button>
        <Button
          onClick={confirm}
          color="secondary"
          variant="contained"
          disabled={busy}
        >
          Delete
        </Button>
      </DialogActions>
    </Dialog>
  );
}
