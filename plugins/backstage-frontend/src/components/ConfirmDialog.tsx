import {
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
} from '@material-ui/core';
import { Alert } from '@material-ui/lab';
import { ReactNode, useEffect, useState } from 'react';
import { errorMessage } from './format';

export interface ConfirmDialogProps {
  open: boolean;
  /** Prefix of the title's and description's element ids (for aria-labelledby/-describedby). */
  id: string;
  title: ReactNode;
  description: ReactNode;
  /** The confirming button's text, e.g. "Delete". */
  confirmLabel: string;
  confirmColor?: 'primary' | 'secondary';
  /** Does the thing; a thrown error (the backend's message) stays in the dialog. */
  onConfirm: () => Promise<void>;
  /** Closes without doing anything, or after onConfirm succeeded. */
  onClose: () => void;
  /** Extra fields between the description and the error (a comment, a checkbox). */
  children?: ReactNode;
}

/**
 * A question before something that cannot be undone: busy while it runs (no second click, no closing),
 * closes when it succeeded, shows the backend's message when it did not.
 */
export function ConfirmDialog(props: ConfirmDialogProps) {
  const { open, id, title, description, confirmLabel, confirmColor } = props;
  const { onConfirm, onClose, children } = props;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  useEffect(() => {
    if (open) setError(undefined);
  }, [open]);

  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm();
      onClose();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog
      open={open}
      onClose={busy ? undefined : onClose}
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-description`}
    >
      <DialogTitle id={`${id}-title`}>{title}</DialogTitle>
      <DialogContent>
        <DialogContentText id={`${id}-description`}>
          {description}
        </DialogContentText>
        {children}
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
          color={confirmColor ?? 'primary'}
          variant="contained"
          disabled={busy}
        >
          {confirmLabel}
        </Button>
      </DialogActions>
    </Dialog>
  );
}
