import {
  Content,
  EmptyState,
  Header,
  InfoCard,
  Page,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { Grid } from '@material-ui/core';
import { Alert } from '@material-ui/lab';
import { useCallback, useState } from 'react';
import { Restore, restoreApiRef } from '../../api';
import { useRestores } from '../../hooks/useRestores';
import { ApprovalsTable, Decision } from '../ApprovalsTable';
import { RestoresTable } from '../RestoresTable';

export interface RestorePageProps {
  /** Render Backstage's page header (the legacy app); the new frontend system draws its own. Default true. */
  header?: boolean;
  /** Poll interval when live updates fail. Default 5 s. */
  pollIntervalMs?: number;
}

/** Every restore the user may read, and the ones waiting for an approval. */
export function RestorePage(props: RestorePageProps) {
  const { header = true, pollIntervalMs } = props;
  const api = useApi(restoreApiRef);
  const { restores, loading, error, upsert, remove } = useRestores({
    pollIntervalMs,
  });
  const [notice, setNotice] = useState<string>();

  const onDecide = useCallback(
    async (restore: Restore, decision: Decision, comment?: string) => {
      const updated =
        decision === 'approve'
          ? await api.approveRestore(restore.id, comment)
          : await api.rejectRestore(restore.id, comment);
      upsert(updated);
      setNotice(
        decision === 'approve'
          ? `Approved ${restore.name}; it is starting.`
          : `Rejected ${restore.name}.`,
      );
    },
    [api, upsert],
  );

  const onDelete = useCallback(
    async (restore: Restore, deletePvc: boolean) => {
      await api.deleteRestore(restore.id, { deletePvc });
      remove(restore.id);
      setNotice(`Deleted ${restore.name}.`);
    },
    [api, remove],
  );

  const waiting = restores.filter(r => r.phase === 'PendingApproval');

  let content;
  if (loading) content = <Progress />;
  else if (error) content = <ResponseErrorPanel error={error} />;
  else
    content = (
      <Grid container spacing={3} direction="column">
        {notice && (
          <Grid item>
            <Alert
              severity="success"
              role="status"
              onClose={() => setNotice(undefined)}
            >
              {notice}
            </Alert>
          </Grid>
        )}
        <Grid item>
          <InfoCard title="Waiting for approval">
            {waiting.length ? (
              <ApprovalsTable restores={waiting} onDecide={onDecide} />
            ) : (
              <EmptyState
                missing="info"
                title="Nothing waits for approval"
                description="Restores that match an approval rule (large, or an expensive thaw) wait here for an approver."
              />
            )}
          </InfoCard>
        </Grid>
        <Grid item>
          <InfoCard title="All restores">
            {restores.length ? (
              <RestoresTable
                restores={restores}
                showEntity
                onDelete={onDelete}
              />
            ) : (
              <EmptyState
                missing="data"
                title="No restores yet"
                description="Start one from the Restore tab of a service in the catalog."
              />
            )}
          </InfoCard>
        </Grid>
      </Grid>
    );

  if (!header) return <Content>{content}</Content>;
  return (
    <Page themeId="tool">
      <Header
        title="Restores"
        subtitle="Data restored from S3 into Kubernetes volumes"
      />
      <Content>{content}</Content>
    </Page>
  );
}
