/** The "Restore data" form: its state, what is wrong with it (common's rules), and the request it makes. */
import {
  ArchiveTier,
  ConflictPolicy,
  dns1123SubdomainProblem,
  parseQuantity,
} from '@kube-restore/common';
import type { RestoreBody } from '../../api';

export interface RestoreFormState {
  source: string;
  /** Below the source's prefix for the entity: a folder ending in `/`, or one key. Empty for all. */
  prefix: string;
  pvc: string;
  mode: 'new' | 'existing';
  conflict: ConflictPolicy;
  /** `auto` or a quantity; only for a new PVC. */
  size: string;
  storageClassName: string;
  format: 'auto' | 'objects' | 'tar';
  /** Glob patterns, one a line. */
  include: string;
  exclude: string;
  stripPrefix: string;
  /** `YYYY-MM-DDTHH:mm` (datetime-local), in the browser's time zone. */
  asOf: string;
  /** Empty: the backend's default (fail on archived objects). */
  archiveTier: '' | 'fail' | ArchiveTier;
  verify: boolean;
  parallelism: string;
}

export const initialForm: RestoreFormState = {
  source: '',
  prefix: '',
  pvc: '',
  mode: 'new',
  conflict: 'fail',
  size: 'auto',
  storageClassName: '',
  format: 'auto',
  include: '',
  exclude: '',
  stripPrefix: '',
  asOf: '',
  archiveTier: '',
  verify: true,
  parallelism: '1',
};

export type FormProblems = Partial<Record<keyof RestoreFormState, string>>;

function lines(text: string): string[] {
  return text
    .split(/\r?\n|,/)
    .map(l => l.trim())
    .filter(Boolean);
}

function pathProblem(value: string): string | undefined {
  if (new TextEncoder().encode(value).length > 1024)
    return 'must be at most 1024 bytes';
  if (value.includes('\0')) return 'must not contain NUL';
  if (value.startsWith('/'))
    return 'is relative to the source\'s prefix: do not start it with "/"';
  return undefined;
}

/** Why each field is wrong, by field; empty when the form can be sent. */
export function validateForm(form: RestoreFormState): FormProblems {
  const problems: FormProblems = {};
  if (!form.source) problems.source = 'choose a source';
  problems.prefix = pathProblem(form.prefix);
  problems.pvc = dns1123SubdomainProblem(form.pvc);
  if (form.mode === 'new' && form.size.trim() !== 'auto') {
    try {
      if (parseQuantity(form.size) <= 0) problems.size = 'must be more than 0';
    } catch (e) {
      problems.size = `${(e as Error).message}, or auto`;
    }
  }
  if (form.mode === 'new' && form.storageClassName) {
    problems.storageClassName = dns1123SubdomainProblem(form.storageClassName);
  }
  if (form.stripPrefix) problems.stripPrefix = pathProblem(form.stripPrefix);
  if (lines(form.include).length > 64) problems.include = 'at most 64 patterns';
  if (lines(form.exclude).length > 64) problems.exclude = 'at most 64 patterns';
  if (form.asOf && !Number.isFinite(Date.parse(form.asOf)))
    problems.asOf = 'must be a date and time';
  const parallelism = Number(form.parallelism);
  if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > 64) {
    problems.parallelism = 'must be a whole number from 1 to 64';
  }
  for (const key of Object.keys(problems) as (keyof RestoreFormState)[]) {
    if (problems[key] === undefined) delete problems[key];
  }
  return problems;
}

/** The body of `POST /plan` and `POST /restores` for the form; only what the user changed from defaults. */
export function toRestoreBody(
  form: RestoreFormState,
  entityRef: string,
): RestoreBody {
  const source: RestoreBody['source'] = { name: form.source };
  if (form.prefix) source.path = form.prefix;
  if (form.format !== 'auto') source.format = form.format;
  const include = lines(form.include);
  const exclude = lines(form.exclude);
  if (include.length) source.include = include;
  if (exclude.length) source.exclude = exclude;
  if (form.stripPrefix) source.stripPrefix = form.stripPrefix;
  if (form.asOf) source.asOf = new Date(form.asOf).toISOString();
  if (form.archiveTier) source.archiveTier = form.archiveTier;

  const target: RestoreBody['target'] = { pvc: form.pvc, mode: form.mode };
  if (form.mode === 'new') {
    target.size = form.size.trim() || 'auto';
    if (form.storageClassName) target.storageClassName = form.storageClassName;
  } else {
    target.conflict = form.conflict;
  }

  const options: Record<string, unknown> = {};
  if (!form.verify) options.verify = false;
  if (Number(form.parallelism) > 1)
    options.parallelism = Number(form.parallelism);

  const body: RestoreBody = { entityRef, source, target };
  if (Object.keys(options).length) body.options = options;
  return body;
}
