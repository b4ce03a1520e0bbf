import { Box, LinearProgress, Typography } from '@material-ui/core';
import type { Restore } from '../../api';
import { isActive, progressOf } from '../format';

/**
 * A restore's progress: a determinate bar when the total is known, indeterminate while an active restore
 * has none yet. Named "Restore progress <name>" for screen readers (and tests).
 */
export function RestoreProgressBar(props: { restore: Restore }) {
  const { restore } = props;
  const { percent, text } = progressOf(restore);
  const determinate = percent !== undefined || !isActive(restore);
  return (
    <Box minWidth={180}>
      <LinearProgress
        variant={determinate ? 'determinate' : 'indeterminate'}
        value={determinate ? Math.round(percent ?? 0) : undefined}
        color={restore.phase === 'Failed' ? 'secondary' : 'primary'}
        aria-label={`Restore progress ${restore.name}`}
        aria-valuetext={text}
      />
      <Typography variant="caption" color="textSecondary">
        {text}
      </Typography>
    </Box>
  );
}
