import {
  Box,
  Button,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Tooltip,
  Typography,
  makeStyles,
} from '@material-ui/core';
import { useEffect, useState } from 'react';
import type { Restore } from '../../api';
import {
  durationOf,
  formatDuration,
  isActive,
  shortRef,
  startOf,
} from '../format';
import { DeleteRestoreDialog } from './DeleteRestoreDialog';
import { PhaseStatus } from './PhaseStatus';
import { RestoreProgressBar } from './RestoreProgressBar';

export interface RestoresTableProps {
  restores: Restore[];
  /** Show which entity each restore is for (the all-restores page). */
  showEntity?: boolean;
  /** Deletes a restore; when absent, rows have no Delete action. */
  onDelete?: (restore: Restore, deletePvc: boolean) => Promise<void>;
  /** When set, Delete is disabled and this says why (e.g. no restore.delete permission). */
  deleteRefusal?: string;
}

const useStyles = makeStyles({
  // Column titles and short values stay on one line; names, sources and errors wrap.
  nowrap: { whiteSpace: 'nowrap' },
});

/** A clock that ticks every second while `running`, so durations of active restores count up. */
function useNow(running: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return undefined;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [running]);
  return now;
}

function DeleteAction(props: {
  restore: Restore;
  refusal?: string;
  onClick: () => void;
}) {
  const { restore, refusal, onClick } = props;
  const optimistic = restore.id.startsWith('optimistic-');
  const button = (
    <Button
      size="small"
      color="secondary"
      onClick={onClick}
      disabled={Boolean(refusal) || optimistic}
      aria-describedby={refusal ? `delete-refusal-${restore.id}` : undefined}
    >
      Delete
    </Button>
  );
  if (!refusal) return button;
  return (
    <Tooltip title={refusal}>
      <span>
        {button}
        <span id={`delete-refusal-${restore.id}`} hidden>
          {refusal}
        </span>
      </span>
    </Tooltip>
  );
}

/** One row per restore: phase, live progress, PVC, requester, start, duration, and why it failed. */
export function RestoresTable(props: RestoresTableProps) {
  const { restores, showEntity, onDelete, deleteRefusal } = props;
  const [deleting, setDeleting] = useState<Restore>();
  const now = useNow(restores.some(isActive));
  const classes = useStyles();

  return (
    <>
      <Table size="small" aria-label="Restores">
        <TableHead>
          <TableRow>
            <TableCell className={classes.nowrap}>Restore</TableCell>
            {showEntity && (
              <TableCell className={classes.nowrap}>Entity</TableCell>
            )}
            <TableCell className={classes.nowrap}>Phase</TableCell>
            <TableCell className={classes.nowrap}>Progress</TableCell>
            <TableCell className={classes.nowrap}>PVC</TableCell>
            <TableCell className={classes.nowrap}>Requester</TableCell>
            <TableCell className={classes.nowrap}>Started</TableCell>
            <TableCell className={classes.nowrap}>Duration</TableCell>
            {onDelete && (
              <TableCell className={classes.nowrap}>Actions</TableCell>
            )}
          </TableRow>
        </TableHead>
        <TableBody>
          {restores.map(restore => {
            const duration = durationOf(restore, now);
            return (
              <TableRow key={restore.id} data-restore={restore.name}>
                <TableCell>
                  <Typography variant="body2">{restore.name}</Typography>
                  <Typography variant="caption" color="textSecondary">
                    {restore.sourceName}: {restore.source}
                  </Typography>
                </TableCell>
                {showEntity && <TableCell>{restore.entityRef}</TableCell>}
                <TableCell>
                  <span className={classes.nowrap}>
                    <PhaseStatus phase={restore.phase} />
                  </span>
                  {restore.error && (
                    <Box mt={0.5}>
                      <Typography variant="caption" color="error">
                        {restore.error.code && (
                          <code>{restore.error.code}: </code>
                        )}
                        {restore.error.message}
                      </Typography>
                    </Box>
                  )}
                  {!restore.error && restore.status?.waitingReason && (
                    <Box mt={0.5}>
                      <Typography variant="caption" color="textSecondary">
                        {restore.status.waitingReason}
                      </Typography>
                    </Box>
                  )}
                </TableCell>
                <TableCell>
                  <RestoreProgressBar restore={restore} />
                </TableCell>
                <TableCell>
                  <code>{restore.pvc}</code>
                </TableCell>
                <TableCell>
                  <span title={restore.requester}>
                    {shortRef(restore.requester)}
                  </span>
                </TableCell>
                <TableCell className={classes.nowrap}>
                  <time dateTime={startOf(restore)}>
                    {new Date(startOf(restore)).toLocaleString()}
                  </time>
                </TableCell>
                <TableCell className={classes.nowrap}>
                  {duration !== undefined ? formatDuration(duration) : '-'}
                </TableCell>
                {onDelete && (
                  <TableCell>
                    <DeleteAction
                      restore={restore}
                      refusal={deleteRefusal}
                      onClick={() => setDeleting(restore)}
                    />
                  </TableCell>
                )}
              </TableRow>
            );
          })}
        </TableBody>
      </Table>
      {onDelete && (
        <DeleteRestoreDialog
          restore={deleting}
          onClose={() => setDeleting(undefined)}
          onDelete={onDelete}
        />
      )}
    </>
  );
}
