/** options: tuning, file modes and the default concurrency, as the request's schema validates them. */
import { parseRestoreRequest, safeParseRestoreRequest } from './request';
import {
  DEFAULT_CONCURRENCY,
  smallObjectsScale,
  specialModeBitsProblems,
  withDefaultConcurrency,
} from './requestOptions';

const minimal = {
  source: { bucket: 'datasets', prefix: 'team-a/2026/' },
  target: { namespace: 'team-a', pvc: 'data' },
};

function problemsOf(input: unknown) {
  const result = safeParseRestoreRequest(input);
  if (result.ok) throw new Error('expected the request to be rejected');
  return result.problems;
}

describe('tuning options (parts, retry, archive.pollSeconds)', () => {
  it('are absent unless given, so that a request without them keeps its name', () => {
    const request = parseRestoreRequest(minimal);
    expect(request.options.parts).toBeUndefined();
    expect(request.options.retry).toBeUndefined();
    expect(request.source.archive.pollSeconds).toBeUndefined();
  });

  it('take valid values', () => {
    const request = parseRestoreRequest({
      ...minimal,
      source: {
        ...minimal.source,
        archive: { tier: 'Expedited', pollSeconds: 10 },
      },
      options: {
        parts: { minObjectSize: '32Mi', size: '16Mi', concurrency: 8 },
        retry: {
          attempts: 12,
          baseDelayMs: 100,
          maxDelayMs: 60_000,
          throttleBudgetSeconds: 3600,
        },
      },
    });
    expect(request.options.parts).toEqual({
      minObjectSize: '32Mi',
      size: '16Mi',
      concurrency: 8,
    });
    expect(request.options.retry?.attempts).toBe(12);
    expect(request.source.archive.pollSeconds).toBe(10);
  });

  it('name what is wrong', () => {
    expect(
      problemsOf({
        ...minimal,
        source: { ...minimal.source, archive: { pollSeconds: 0 } },
        options: {
          parts: { minObjectSize: '1Ki', size: '4Mi', concurrency: 0, x: 1 },
          retry: { attempts: 0, baseDelayMs: 500, maxDelayMs: 100 },
        },
      }),
    ).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'source.archive.pollSeconds' }),
        {
          path: 'options.parts.minObjectSize',
          message: 'must be at least 1Mi (got "1Ki")',
        },
        {
          path: 'options.parts.size',
          message: 'must be at least 5Mi (got "4Mi")',
        },
        expect.objectContaining({ path: 'options.parts.concurrency' }),
        expect.objectContaining({ path: 'options.parts' }),
        expect.objectContaining({ path: 'options.retry.attempts' }),
        {
          path: 'options.retry.maxDelayMs',
          message: 'must not be less than baseDelayMs',
        },
      ]),
    );
    expect(
      problemsOf({ ...minimal, options: { parts: { size: '6Gi' } } }),
    ).toEqual([
      {
        path: 'options.parts.size',
        message: 'must be at most 5Gi (got "6Gi")',
      },
    ]);
  });
});

describe('special mode bits', () => {
  it.each(['4755', '2755', '1777', '06644'])(
    'refuses fileMode and dirMode %s (setuid, setgid, sticky) unless the deployment allows them',
    mode => {
      const input = {
        ...minimal,
        options: { owner: { fileMode: mode, dirMode: mode } },
      };
      expect(problemsOf(input).map(p => p.path)).toEqual([
        'options.owner.fileMode',
        'options.owner.dirMode',
      ]);
      expect(() => parseRestoreRequest(input)).toThrow(/setuid/);
      expect(
        parseRestoreRequest(input, { allowSpecialModeBits: true }).options.owner
          .fileMode,
      ).toBe(mode);
    },
  );

  it('accepts plain modes', () => {
    expect(
      parseRestoreRequest({
        ...minimal,
        options: { owner: { fileMode: '0644', dirMode: '755' } },
      }).options.owner,
    ).toEqual({ fileMode: '0644', dirMode: '755' });
  });

  it('names only the field that carries them, for callers that check a parsed request', () => {
    expect(
      specialModeBitsProblems({ fileMode: '0644', dirMode: '2755' }),
    ).toEqual([
      {
        path: 'options.owner.dirMode',
        message:
          '"2755" sets setuid, setgid or sticky bits, which this deployment does not allow',
      },
    ]);
    expect(specialModeBitsProblems({})).toEqual([]);
  });
});

describe('the default concurrency', () => {
  it('a request stored with concurrency 16 is the same request as one without it', () => {
    const unset = parseRestoreRequest(minimal);
    const stored = parseRestoreRequest({
      ...minimal,
      options: { concurrency: DEFAULT_CONCURRENCY },
    });
    expect(withDefaultConcurrency(unset)).toEqual(
      withDefaultConcurrency(stored),
    );
    expect(smallObjectsScale(unset.options)).toBe(true);
    expect(smallObjectsScale(stored.options)).toBe(true);
    expect(smallObjectsScale({ concurrency: 4 })).toBe(false);
    expect(
      withDefaultConcurrency(
        parseRestoreRequest({ ...minimal, options: { concurrency: 4 } }),
      ).options.concurrency,
    ).toBe(4);
  });
});
