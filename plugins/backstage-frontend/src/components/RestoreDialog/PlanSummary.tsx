import {
  Box,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Typography,
} from '@material-ui/core';
import { Alert } from '@material-ui/lab';
import { GLACIER_PRICES_SOURCE, formatBytes } from '@kube-restore/common';
import type { ReactNode } from 'react';
import type { RestorePlan } from '../../api';

function Fact(props: { label: string; children: ReactNode }) {
  return (
    <>
      <Typography component="dt" variant="body2" color="textSecondary">
        {props.label}
      </Typography>
      <Typography component="dd" variant="body2" style={{ margin: 0 }}>
        {props.children}
      </Typography>
    </>
  );
}

/** What a restore would do: size, PVC size, archived data and thaw cost, approval, quota and access. */
export function PlanSummary(props: { plan: RestorePlan; stale?: boolean }) {
  const { plan, stale } = props;
  const { size } = plan;
  const archived = size?.archivedObjects ?? 0;
  return (
    <Box component="section" aria-label="Plan" mt={2}>
      <Typography variant="h6" component="h3">
        Plan
      </Typography>
      {stale && (
        <Alert severity="info" role="status">
          The form changed since this plan; plan again to see the new one.
        </Alert>
      )}
      <Box
        component="dl"
        display="grid"
        gridTemplateColumns="max-content 1fr"
        gridColumnGap={16}
        gridRowGap={4}
        my={1}
      >
        <Fact label="Restore">{plan.name}</Fact>
        <Fact label="Into">
          namespace {plan.namespace} on cluster {plan.cluster}
        </Fact>
        <Fact label="From">{plan.source}</Fact>
        {size && (
          <>
            <Fact label="Objects">{size.objects}</Fact>
            <Fact label="Size">
              {formatBytes(size.bytes)}
              {size.estimated ? ' (estimated: compressed archive)' : ''}
            </Fact>
            {size.recommendedSize && (
              <Fact label="Recommended PVC size">{size.recommendedSize}</Fact>
            )}
          </>
        )}
        {plan.pvcSize && <Fact label="PVC size">{plan.pvcSize}</Fact>}
        {size && <Fact label="Archived objects">{archived}</Fact>}
        <Fact label="Approval">
          {plan.approval.required ? 'needed' : 'not needed'}
        </Fact>
      </Box>
      {plan.sizeError && (
        <Alert severity="warning" role="status">
          The source could not be sized: {plan.sizeError}
        </Alert>
      )}
      {plan.fits === false && (
        <Alert severity="warning" role="status">
          The data does not fit the PVC size {plan.pvcSize}.
        </Alert>
      )}
      {archived > 0 && size?.thawCost && (
        <Box mt={1}>
          <Typography variant="body2">
            {archived} archived objects ({formatBytes(size.archivedBytes ?? 0)})
            must be thawed first. Estimated cost per retrieval tier:
          </Typography>
          <Table size="small" aria-label="Thaw cost per tier">
            <TableHead>
              <TableRow>
                <TableCell>Tier</TableCell>
                <TableCell align="right">Cost (USD)</TableCell>
                <TableCell>Typical time (hours)</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {size.thawCost.map(estimate => (
                <TableRow key={estimate.tier}>
                  <TableCell>{estimate.tier}</TableCell>
                  <TableCell align="right">
                    {estimate.available
                      ? `$${estimate.usd.toFixed(2)}`
                      : 'not available'}
                  </TableCell>
                  <TableCell>{estimate.typicalHours}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
          <Typography variant="caption" color="textSecondary">
            Estimates from {GLACIER_PRICES_SOURCE}; prices differ by region.
          </Typography>
        </Box>
      )}
      {plan.approval.required && (
        <Alert severity="info" role="status">
          This restore needs an approval before anything is created:
          <ul>
            {plan.approval.reasons.map(reason => (
              <li key={reason.rule}>
                {reason.reason} (rule {reason.rule}; approvers{' '}
                {reason.approvers.join(', ')})
              </li>
            ))}
          </ul>
        </Alert>
      )}
      {!plan.quota.ok && (
        <Alert severity="error" role="status">
          Limits would refuse this restore:
          <ul>
            {plan.quota.problems.map(problem => (
              <li key={problem}>{problem}</li>
            ))}
          </ul>
        </Alert>
      )}
      {!plan.access.allowed && (
        <Alert severity="error" role="status">
          The restore operator lacks rights in namespace {plan.namespace}
          {plan.access.error ? `: ${plan.access.error}` : ''}
          <ul>
            {plan.access.checks
              .filter(check => !check.allowed)
              .map(check => (
                <li
                  key={`${check.verb} ${check.group}/${check.resource}/${check.subresource ?? ''}`}
                >
                  {check.verb} {check.resource}
                  {check.subresource ? `/${check.subresource}` : ''}
                  {check.reason ? `: ${check.reason}` : ''}
                </li>
              ))}
          </ul>
        </Alert>
      )}
    </Box>
  );
}
