import { z } from 'zod';

/** A zod issue as people read it: "is required", "unknown field "x"", else zod's own message. */
export function describeIssue(
  issue: z.ZodIssue,
  noun: 'field' | 'key' = 'field',
): string {
  if (
    issue.code === z.ZodIssueCode.invalid_type &&
    issue.received === 'undefined'
  )
    return 'is required';
  if (issue.code === z.ZodIssueCode.unrecognized_keys) {
    return `unknown ${noun}${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map(k => JSON.stringify(k)).join(', ')}`;
  }
  return issue.message;
}
