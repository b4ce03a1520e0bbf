/**
 * What is wrong with an input, field by field: the path of each bad field and what is allowed,
 * from zod's issues, for every schema of the request and the RestoreSource.
 */
import { z } from 'zod';

export interface FieldProblem {
  /** Dotted path of the field, e.g. `source.bucket` or `options.owner.uid`. */
  path: string;
  message: string;
}

export class RestoreRequestError extends Error {
  readonly problems: FieldProblem[];
  constructor(problems: FieldProblem[]) {
    super(
      `invalid restore request: ${problems.map(p => `${p.path || '(request)'}: ${p.message}`).join('; ')}`,
    );
    this.name = 'RestoreRequestError';
    this.problems = problems;
  }
}

export function zodProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map(issue => ({
    path: issue.path.join('.'),
    message: describeIssue(issue),
  }));
}

function describeIssue(issue: z.ZodIssue): string {
  switch (issue.code) {
    case z.ZodIssueCode.invalid_enum_value:
      return `must be one of ${issue.options.map(o => JSON.stringify(o)).join(', ')} (got ${JSON.stringify(issue.received)})`;
    case z.ZodIssueCode.unrecognized_keys:
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map(k => JSON.stringify(k)).join(', ')}`;
    case z.ZodIssueCode.invalid_union_discriminator:
      return `must be one of ${issue.options.map(o => JSON.stringify(o)).join(', ')}`;
    case z.ZodIssueCode.invalid_type:
      return issue.received === 'undefined'
        ? 'is required'
        : `must be ${issue.expected} (got ${issue.received})`;
    default:
      return issue.message;
  }
}
