/** source.maxEntriesPerDirectory: validated where the request enters, optional (no default in the request). */
import {
  DEFAULT_MAX_ENTRIES_PER_DIRECTORY,
  MAX_ENTRIES_PER_DIRECTORY_LIMIT,
  safeParseRestoreRequest,
} from './request';

const withLimit = (maxEntriesPerDirectory: unknown) =>
  safeParseRestoreRequest({
    source: { bucket: 'datasets', key: 'a.tar', maxEntriesPerDirectory },
    target: { namespace: 'team-a', pvc: 'data', size: '1Gi' },
  });

describe('source.maxEntriesPerDirectory', () => {
  it('accepts a whole number from 1 to the limit', () => {
    for (const n of [1, 200_000, MAX_ENTRIES_PER_DIRECTORY_LIMIT]) {
      const result = withLimit(n);
      expect(result.ok && result.request.source.maxEntriesPerDirectory).toBe(n);
    }
  });

  it.each([0, -1, 1.5, MAX_ENTRIES_PER_DIRECTORY_LIMIT + 1, '1000'])(
    'refuses %p, naming the field',
    value => {
      const result = withLimit(value);
      expect(result.ok).toBe(false);
      expect(JSON.stringify(result)).toContain('source.maxEntriesPerDirectory');
    },
  );

  it('has no default in the request (the job applies it), so request names do not change', () => {
    const result = safeParseRestoreRequest({
      source: { bucket: 'datasets', key: 'a.tar' },
      target: { namespace: 'team-a', pvc: 'data', size: '1Gi' },
    });
    expect(result.ok && 'maxEntriesPerDirectory' in result.request.source).toBe(
      false,
    );
    expect(DEFAULT_MAX_ENTRIES_PER_DIRECTORY).toBe(1_000_000);
  });
});
