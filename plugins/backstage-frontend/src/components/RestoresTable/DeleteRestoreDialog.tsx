import { Checkbox, FormControlLabel } from '@material-ui/core';
import { useEffect, useState } from 'react';
import type { Restore } from '../../api';
import { ConfirmDialog } from '../ConfirmDialog';

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

  useEffect(() => {
    setDeletePvc(false);
  }, [restore?.id]);

  return (
    <ConfirmDialog
      open={Boolean(restore)}
      id="delete-restore"
      title={`Delete restore ${restore?.name}?`}
      description={
        restore?.phase === 'PendingApproval'
          ? 'This withdraws the request; nothing was created in the cluster yet.'
          : `This deletes the restore's Job and its pods, and stops it if it is still running. The data already written to PVC ${restore?.pvc} stays unless you delete the PVC too.`
      }
      confirmLabel="Delete"
      confirmColor="secondary"
      onConfirm={async () => {
        if (restore) await onDelete(restore, deletePvc);
      }}
      onClose={onClose}
    >
      <FormControlLabel
        control={
          <Checkbox
            checked={deletePvc}
            onChange={e => setDeletePvc(e.target.checked)}
          />
        }
        label={`Also delete PVC ${restore?.pvc ?? ''} (only if this restore created it)`}
      />
    </ConfirmDialog>
  );
}
