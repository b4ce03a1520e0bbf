import { ResponseError } from '@backstage/errors';
import { restoreFixture } from '../__testUtils__/backend';
import {
  durationOf,
  errorMessage,
  formatDuration,
  isActive,
  progressOf,
  shortRef,
} from './format';

describe('format', () => {
  it('formats durations', () => {
    expect(formatDuration(4000)).toBe('4s');
    expect(formatDuration(65000)).toBe('1m 05s');
    expect(formatDuration(3723000)).toBe('1h 02m');
  });

  it('knows which restores can still change', () => {
    expect(isActive(restoreFixture({ phase: 'Restoring' }))).toBe(true);
    expect(isActive(restoreFixture({ phase: 'PendingApproval' }))).toBe(true);
    expect(isActive(restoreFixture({ phase: 'Rejected' }))).toBe(false);
    expect(
      isActive(restoreFixture({ phase: 'Restoring', deletedAt: 'x' })),
    ).toBe(false);
  });

  it('counts the duration of a running restore up to now', () => {
    const restore = restoreFixture({
      phase: 'Restoring',
      jobCreatedAt: '2026-11-20T10:00:00.000Z',
    });
    expect(durationOf(restore, Date.parse('2026-11-20T10:01:30.000Z'))).toBe(
      90000,
    );
    expect(
      durationOf(
        restoreFixture({ phase: 'PendingApproval', jobCreatedAt: undefined }),
        Date.now(),
      ),
    ).toBeUndefined();
  });

  it('has no percentage while the listing goes on, and says so', () => {
    const progress = {
      objectsDone: 10,
      objectsTotal: 40,
      objectsSkipped: 0,
      bytesDone: 10,
      bytesTotal: 40,
      bytesPerSecond: 0,
    };
    const restoring = (listing?: boolean) =>
      restoreFixture({
        phase: 'Restoring',
        status: { progress: { ...progress, listing } },
      } as Partial<Parameters<typeof restoreFixture>[0]>);
    const listing = progressOf(restoring(true));
    expect(listing.percent).toBeUndefined();
    expect(listing.text).toContain('still listing');
    const listed = progressOf(restoring());
    expect(listed.percent).toBe(25);
    expect(listed.text).not.toContain('still listing');
  });

  it('has no percentage before the total is known', () => {
    expect(progressOf(restoreFixture({ phase: 'Planning' }))).toEqual({
      text: 'preparing',
    });
  });

  it('takes the backend message out of a ResponseError', async () => {
    const error = await ResponseError.fromResponse(
      new Response(
        JSON.stringify({
          error: { name: 'NotAllowedError', message: 'not yours' },
          response: { statusCode: 403 },
        }),
        { status: 403, headers: { 'Content-Type': 'application/json' } },
      ),
    );
    expect(errorMessage(error)).toBe('not yours');
    expect(errorMessage(new Error('plain'))).toBe('plain');
  });

  it('shortens entity refs', () => {
    expect(shortRef('user:default/alice')).toBe('alice');
    expect(shortRef('you')).toBe('you');
  });
});
