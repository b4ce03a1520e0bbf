import { stringifyEntityRef } from '@backstage/catalog-model';
import {
  EmptyState,
  InfoCard,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import {
  MissingAnnotationEmptyState,
  useEntity,
} from '@backstage/plugin-catalog-react';
import { usePermission } from '@backstage/plugin-permission-react';
import { Box, Button, Typography } from '@material-ui/core';
import { Alert } from '@material-ui/lab';
import { useCallback, useRef, useState } from 'react';
import { Restore, RestoreBody, RestorePlan, restoreApiRef } from '../../api';
import { useRestores } from '../../hooks/useRestores';
import {
  ANNOTATION_KUBERNETES_NAMESPACE,
  isRestoreAvailable,
} from '../../isRestoreAvailable';
import {
  restoreCreatePermission,
  restoreDeletePermission,
} from '@kube-restore/backstage-plugin-restore-common';
import { errorMessage } from '../format';
import { RestoreDialog } from '../RestoreDialog';
import { RestoresTable } from '../RestoresTable';

export interface EntityRestoreContentProps {
  /** Poll interval when live updates fail. Default 5 s. */
  pollIntervalMs?: number;
}

type Notice = { severity: 'error' | 'success' | 'info'; text: string };

/** A row for a restore that was just asked for, until the backend answers. */
function optimisticRestore(
  id: string,
  body: RestoreBody,
  plan: RestorePlan,
): Restore {
  const now = new Date().toISOString();
  return {
    id,
    entityRef: body.entityRef,
    cluster: plan.cluster,
    namespace: plan.namespace,
    name: plan.name,
    pvc: body.target.pvc,
    sourceName: body.source.name,
    source: plan.source,
    requester: 'you',
    phase: 'Pending',
    plannedBytes: plan.size?.bytes,
    createdAt: now,
    updatedAt: now,
  };
}

/** The entity's "Restore" tab: its restores, live, and "Restore data". */
export function EntityRestoreContent(props: EntityRestoreContentProps) {
  const { entity } = useEntity();
  if (!isRestoreAvailable(entity)) {
    return (
      <MissingAnnotationEmptyState
        annotation={ANNOTATION_KUBERNETES_NAMESPACE}
      />
    );
  }
  return (
    <EntityRestores
      entityRef={stringifyEntityRef(entity)}
      pollIntervalMs={props.pollIntervalMs}
    />
  );
}

function EntityRestores(props: { entityRef: string; pollIntervalMs?: number }) {
  const { entityRef, pollIntervalMs } = props;
  const api = useApi(restoreApiRef);
  const { restores, loading, error, liveMode, upsert, remove } = useRestores({
    entityRef,
    pollIntervalMs,
  });
  const create = usePermission({
    permission: restoreCreatePermission,
    resourceRef: entityRef,
  });
  const del = usePermission({
    permission: restoreDeletePermission,
    resourceRef: entityRef,
  });
  const [open, setOpen] = useState(false);
  const [notice, setNotice] = useState<Notice>();
  const counter = useRef(0);

  const onStart = useCallback(
    async (body: RestoreBody, plan: RestorePlan) => {
      counter.current += 1;
      const id = `optimistic-${counter.current}`;
      upsert(optimisticRestore(id, body, plan));
      setNotice(undefined);
      try {
        const { restore, outcome } = await api.createRestore(body);
        upsert(restore, id);
        if (outcome === 'pendingApproval') {
          setNotice({
            severity: 'info',
            text: `Restore ${restore.name} waits for approval; nothing happens in the cluster until an approver approves it.`,
          });
        } else if (outcome === 'existing') {
          setNotice({
            severity: 'info',
            text: `The same restore was already asked for: ${restore.name}.`,
          });
        }
        return true;
      } catch (e) {
        remove(id);
        setNotice({
          severity: 'error',
          text: `Could not start the restore into PVC ${body.target.pvc}: ${errorMessage(e)}`,
        });
        return false;
      }
    },
    [api, upsert, remove],
  );

  const onDelete = useCallback(
    async (restore: Restore, deletePvc: boolean) => {
      await api.deleteRestore(restore.id, { deletePvc });
      remove(restore.id);
      setNotice({ severity: 'success', text: `Deleted ${restore.name}.` });
    },
    [api, remove],
  );

  const createRefused = !create.loading && !create.allowed;
  const deleteRefusal =
    !del.loading && !del.allowed
      ? `You may not delete restores of ${entityRef} (permission restore.delete).`
      : undefined;

  let body;
  if (loading) body = <Progress />;
  else if (error) body = <ResponseErrorPanel error={error} />;
  else if (restores.length === 0)
    body = (
      <EmptyState
        missing="data"
        title="No restores yet"
        description={`Restores of ${entityRef}'s volumes show up here, with their progress.`}
      />
    );
  else
    body = (
      <RestoresTable
        restores={restores}
        onDelete={onDelete}
        deleteRefusal={deleteRefusal}
      />
    );

  let live = '';
  if (liveMode === 'stream') live = 'Live';
  else if (liveMode === 'polling')
    live = `Live updates unavailable; refreshing every ${Math.round((pollIntervalMs ?? 5000) / 1000)} s`;

  return (
    <InfoCard
      title="Restores"
      subheader={live || undefined}
      action={
        <Box textAlign="right" p={1}>
          <Button
            color="primary"
            variant="contained"
            onClick={() => setOpen(true)}
            disabled={create.loading || createRefused}
            aria-describedby={createRefused ? 'restore-refused' : undefined}
          >
            Restore data
          </Button>
          {createRefused && (
            <Typography
              id="restore-refused"
              variant="caption"
              display="block"
              color="textSecondary"
            >
              You may not restore data into {entityRef} (permission
              restore.create); its owners can.
            </Typography>
          )}
        </Box>
      }
    >
      {notice && (
        <Box mb={2}>
          <Alert
            severity={notice.severity}
            role={notice.severity === 'error' ? 'alert' : 'status'}
            onClose={() => setNotice(undefined)}
          >
            {notice.text}
          </Alert>
        </Box>
      )}
      {body}
      <RestoreDialog
        open={open}
        entityRef={entityRef}
        onClose={() => setOpen(false)}
        onStart={onStart}
      />
    </InfoCard>
  );
}
