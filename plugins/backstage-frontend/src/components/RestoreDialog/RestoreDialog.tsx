import { useApi } from '@backstage/core-plugin-api';
import {
  Accordion,
  AccordionDetails,
  AccordionSummary,
  Box,
  Button,
  Checkbox,
  CircularProgress,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  FormControl,
  FormControlLabel,
  FormLabel,
  Radio,
  RadioGroup,
  TextField,
  Typography,
} from '@material-ui/core';
import ExpandMoreIcon from '@material-ui/icons/ExpandMore';
import { Alert } from '@material-ui/lab';
import { CONFLICT_POLICIES, ConflictPolicy } from '@kube-restore/common';
import { ComponentProps, FormEvent, useEffect, useMemo, useState } from 'react';
import {
  RestoreBody,
  RestorePlan,
  RestoreSourceInfo,
  restoreApiRef,
} from '../../api';
import { errorMessage } from '../format';
import {
  FormProblems,
  RestoreFormState,
  initialForm,
  toRestoreBody,
  validateForm,
} from './form';
import { PlanSummary } from './PlanSummary';

const CONFLICT_TEXT: Record<ConflictPolicy, string> = {
  fail: 'Fail if the volume is not empty',
  'skip-existing': 'Keep existing files, add the missing ones',
  overwrite: 'Overwrite existing files',
};

export interface RestoreDialogProps {
  open: boolean;
  entityRef: string;
  onClose: () => void;
  /**
   * Starts the restore. The dialog closes at once (the caller shows the row optimistically); the form is
   * cleared when this resolves true and kept for another try when it resolves false.
   */
  /** Starts the restore the plan describes; resolves true once the backend has it. */
  onStart: (body: RestoreBody, plan: RestorePlan) => Promise<boolean>;
}

function useSources(open: boolean) {
  const api = useApi(restoreApiRef);
  const [sources, setSources] = useState<RestoreSourceInfo[]>();
  const [error, setError] = useState<Error>();
  useEffect(() => {
    if (!open || sources) return;
    api.listSources().then(setSources, setError);
  }, [api, open, sources]);
  return { sources, error };
}

/** "Restore data": source, prefix, PVC, plan, start. Fields are checked as they are typed. */
export function RestoreDialog(props: RestoreDialogProps) {
  const { open, entityRef, onClose, onStart } = props;
  const api = useApi(restoreApiRef);
  const { sources, error: sourcesError } = useSources(open);
  const [form, setForm] = useState<RestoreFormState>(initialForm);
  const [touched, setTouched] = useState<
    Partial<Record<keyof RestoreFormState, boolean>>
  >({});
  const [plan, setPlan] = useState<{ plan: RestorePlan; body: string }>();
  const [planning, setPlanning] = useState(false);
  const [error, setError] = useState<string>();

  // With one source there is nothing to choose.
  useEffect(() => {
    if (sources?.length === 1 && !form.source)
      setForm(f => ({ ...f, source: sources[0].name }));
  }, [sources, form.source]);

  const problems: FormProblems = useMemo(() => validateForm(form), [form]);
  const valid = Object.keys(problems).length === 0;
  const body = useMemo(() => toRestoreBody(form, entityRef), [form, entityRef]);
  const bodyText = JSON.stringify(body);
  const source = sources?.find(s => s.name === form.source);

  const set =
    <K extends keyof RestoreFormState>(key: K) =>
    (value: RestoreFormState[K]) => {
      setForm(f => ({ ...f, [key]: value }));
      setTouched(t => ({ ...t, [key]: true }));
    };
  const shown = (key: keyof RestoreFormState) =>
    touched[key] || (key !== 'pvc' && key !== 'source')
      ? problems[key]
      : undefined;

  const runPlan = async () => {
    setTouched({ source: true, pvc: true });
    if (!valid) return;
    setPlanning(true);
    setError(undefined);
    try {
      setPlan({ plan: await api.planRestore(body), body: bodyText });
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setPlanning(false);
    }
  };

  // A restore starts from the plan its requester has seen: the plan of exactly the current form.
  const current = plan?.body === bodyText ? plan.plan : undefined;

  const start = async (event?: FormEvent) => {
    event?.preventDefault();
    // Enter in a field plans first, and starts once the plan on screen is the current one.
    if (!current) {
      await runPlan();
      return;
    }
    setTouched({ source: true, pvc: true });
    if (!valid) return;
    setError(undefined);
    onClose();
    if (await onStart(body, current)) {
      setForm(initialForm);
      setTouched({});
      setPlan(undefined);
    }
  };

  const text = (
    key: keyof RestoreFormState,
    label: string,
    helper: string,
    extra: Partial<ComponentProps<typeof TextField>> = {},
  ) => (
    <TextField
      id={`restore-${key}`}
      label={label}
      value={form[key] as string}
      onChange={e => set(key)(e.target.value as never)}
      onBlur={() => setTouched(t => ({ ...t, [key]: true }))}
      error={Boolean(shown(key))}
      helperText={shown(key) ?? helper}
      fullWidth
      margin="dense"
      {...extra}
    />
  );

  return (
    <Dialog
      open={open}
      onClose={onClose}
      aria-labelledby="restore-dialog-title"
      fullWidth
      maxWidth="md"
    >
      <form onSubmit={start} noValidate>
        <DialogTitle id="restore-dialog-title">Restore data</DialogTitle>
        <DialogContent>
          <Typography variant="body2" color="textSecondary">
            Copies data from a backup source into a PVC of {entityRef}'s
            namespace. Plan first to see what it would restore.
          </Typography>
          {sourcesError && (
            <Alert severity="error" role="alert">
              Could not load the sources: {errorMessage(sourcesError)}
            </Alert>
          )}
          {sources?.length === 0 && (
            <Alert severity="warning" role="status">
              No source is configured (kubeRestore.sources in app-config).
            </Alert>
          )}
          <TextField
            id="restore-source"
            select
            label="Source"
            value={form.source}
            onChange={e => set('source')(e.target.value)}
            SelectProps={{ native: true }}
            inputProps={{ 'aria-required': true }}
            error={Boolean(shown('source'))}
            helperText={
              shown('source') ??
              (source ? whereIs(source) : 'Where the backups are')
            }
            disabled={!sources}
            fullWidth
            margin="dense"
          >
            <option value="" disabled>
              {sources ? 'Choose a source' : 'Loading sources…'}
            </option>
            {sources?.map(s => (
              <option key={s.name} value={s.name}>
                {s.title}
              </option>
            ))}
          </TextField>
          {text(
            'prefix',
            'Prefix',
            'Below the source\'s folder for this service: a folder ending in "/" or one archive key. Empty restores everything.',
          )}
          {text('pvc', 'PVC name', 'Lower case letters, digits, "-" and ".".', {
            inputProps: { 'aria-required': true },
          })}
          <FormControl component="fieldset" margin="dense">
            <FormLabel component="legend">Volume</FormLabel>
            <RadioGroup
              row
              name="restore-mode"
              value={form.mode}
              onChange={e =>
                set('mode')(e.target.value as RestoreFormState['mode'])
              }
            >
              <FormControlLabel
                value="new"
                control={<Radio />}
                label="New PVC"
              />
              <FormControlLabel
                value="existing"
                control={<Radio />}
                label="Existing PVC"
              />
            </RadioGroup>
          </FormControl>
          {form.mode === 'new' ? (
            text(
              'size',
              'Size',
              'auto sizes the PVC from the data (see the plan), or a quantity such as 20Gi.',
            )
          ) : (
            <TextField
              id="restore-conflict"
              select
              label="If files already exist"
              value={form.conflict}
              onChange={e => set('conflict')(e.target.value as ConflictPolicy)}
              SelectProps={{ native: true }}
              helperText="The existing PVC is never resized."
              fullWidth
              margin="dense"
            >
              {CONFLICT_POLICIES.map(policy => (
                <option key={policy} value={policy}>
                  {CONFLICT_TEXT[policy]}
                </option>
              ))}
            </TextField>
          )}
          <Box mt={1}>
            <Accordion>
              <AccordionSummary
                expandIcon={<ExpandMoreIcon />}
                aria-controls="restore-advanced-content"
                id="restore-advanced-header"
              >
                <Typography>Advanced options</Typography>
              </AccordionSummary>
              <AccordionDetails id="restore-advanced-content">
                <Box width="100%">
                  {form.mode === 'new' &&
                    text(
                      'storageClassName',
                      'Storage class',
                      'Empty for the default storage class.',
                    )}
                  <TextField
                    id="restore-format"
                    select
                    label="Format"
                    value={form.format}
                    onChange={e =>
                      set('format')(
                        e.target.value as RestoreFormState['format'],
                      )
                    }
                    SelectProps={{ native: true }}
                    helperText="auto: an archive key (.tar, .tar.gz, .tar.zst) is unpacked, a folder is copied as files."
                    fullWidth
                    margin="dense"
                  >
                    <option value="auto">auto</option>
                    <option value="objects">
                      objects (one file per object)
                    </option>
                    <option value="tar">tar (unpack one archive)</option>
                  </TextField>
                  {text(
                    'include',
                    'Include',
                    'Glob patterns, one a line; empty includes everything.',
                    { multiline: true, minRows: 2 },
                  )}
                  {text('exclude', 'Exclude', 'Glob patterns, one a line.', {
                    multiline: true,
                    minRows: 2,
                  })}
                  {text(
                    'stripPrefix',
                    'Strip prefix',
                    'Removed from the front of each path before writing.',
                  )}
                  {text(
                    'asOf',
                    'As of',
                    'Restore the newest version at or before this time (versioned buckets).',
                    {
                      type: 'datetime-local',
                      InputLabelProps: { shrink: true },
                    },
                  )}
                  <TextField
                    id="restore-archiveTier"
                    select
                    label="Archived objects"
                    value={form.archiveTier}
                    onChange={e =>
                      set('archiveTier')(
                        e.target.value as RestoreFormState['archiveTier'],
                      )
                    }
                    SelectProps={{ native: true }}
                    helperText={
                      source?.archiveTiers.length
                        ? 'Glacier objects must be thawed first; the plan shows the cost per tier.'
                        : 'This source allows no thaw: archived objects fail the restore.'
                    }
                    fullWidth
                    margin="dense"
                  >
                    <option value="">Fail the restore (default)</option>
                    {source?.archiveTiers.map(tier => (
                      <option key={tier} value={tier}>
                        Thaw with tier {tier}
                      </option>
                    ))}
                  </TextField>
                  {text(
                    'parallelism',
                    'Parallel pods',
                    'Pods sharing the objects (1 to 64); an archive needs 1.',
                    { type: 'number', inputProps: { min: 1, max: 64 } },
                  )}
                  <FormControlLabel
                    control={
                      <Checkbox
                        checked={form.verify}
                        onChange={e => set('verify')(e.target.checked)}
                      />
                    }
                    label="Verify every object after writing"
                  />
                </Box>
              </AccordionDetails>
            </Accordion>
          </Box>
          {error && (
            <Box mt={2}>
              <Alert severity="error" role="alert">
                {error}
              </Alert>
            </Box>
          )}
          {plan && (
            <PlanSummary plan={plan.plan} stale={plan.body !== bodyText} />
          )}
        </DialogContent>
        <DialogActions>
          {!current && (
            <Box flexGrow={1} pl={2}>
              <Typography
                id="restore-start-hint"
                variant="caption"
                color="textSecondary"
              >
                {plan
                  ? 'The form changed since the plan: plan again to start.'
                  : 'Plan first: a restore starts from the plan you have seen.'}
              </Typography>
            </Box>
          )}
          <Button onClick={onClose}>Cancel</Button>
          <Button
            onClick={runPlan}
            disabled={planning}
            startIcon={planning ? <CircularProgress size={16} /> : undefined}
          >
            Plan
          </Button>
          <Button
            type="submit"
            color="primary"
            variant="contained"
            disabled={!current || planning}
            aria-describedby={current ? undefined : 'restore-start-hint'}
          >
            Start restore
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}

/** Where a source is, as far as the backend shows it to this user (the prefix only when hidden). */
function whereIs(source: RestoreSourceInfo): string {
  if (source.locationHidden) return source.prefix;
  return `${source.endpoint ?? 's3:/'}/${source.bucket}/${source.prefix}`;
}
