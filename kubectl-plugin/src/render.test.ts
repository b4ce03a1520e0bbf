import {
  NOW,
  failed,
  pending,
  populating,
  restoring,
  succeeded,
} from './__testUtils__/fixtures';
import { expectGolden } from './__testUtils__/golden';
import {
  formatDescribe,
  formatDuration,
  formatProgress,
  formatProgressLine,
  formatRestoreTable,
  formatStatus,
  percent,
} from './render';

describe('render', () => {
  it('formats durations like kubectl', () => {
    expect(
      [0, 45, 60, 192, 3600, 3660, 18240, 86400, 183600].map(formatDuration),
    ).toEqual(['0s', '45s', '1m', '3m12s', '1h', '1h1m', '5h4m', '1d', '2d3h']);
  });

  it('gives no percentage while the listing goes on, and says so', () => {
    const p = {
      objectsDone: 10,
      objectsTotal: 40,
      objectsSkipped: 0,
      bytesDone: 1024,
      bytesTotal: 4096,
      bytesPerSecond: 0,
    };
    expect(percent(p)).toBe(25);
    expect(percent({ ...p, listing: true })).toBeUndefined();
    expect(formatProgress({ ...p, listing: true })).toBe(
      '10/40 objects, 1.00 KiB/4.00 KiB, still listing',
    );
  });

  it('prints the status of a running restore with progress, rate and ETA', () => {
    expectGolden('status-restoring.txt', formatStatus(restoring, NOW));
  });

  it('prints the error code and message of a failed restore', () => {
    expectGolden('status-failed.txt', formatStatus(failed, NOW));
  });

  it('prints why a pending restore is not running', () => {
    expectGolden('status-pending.txt', formatStatus(pending, NOW));
  });

  it('describes a restore with its result and events', () => {
    expectGolden(
      'describe-succeeded.txt',
      formatDescribe(
        succeeded,
        [
          {
            type: 'Normal',
            reason: 'SuccessfulCreate',
            object: 'job/restore-db-9f8e7d6c',
            message: 'Created pod: restore-db-9f8e7d6c-abcde',
            time: '2026-11-20T09:00:01Z',
          },
          {
            type: 'Normal',
            reason: 'Completed',
            object: 'job/restore-db-9f8e7d6c',
            message: 'Job completed',
            time: '2026-11-20T09:03:31Z',
          },
        ],
        NOW,
      ),
    );
  });

  it('lists restores, with NAMESPACE for -A and more columns for -o wide', () => {
    const all = [restoring, pending, failed, succeeded];
    expectGolden(
      'list.txt',
      formatRestoreTable([restoring, pending, succeeded], { now: NOW }),
    );
    expectGolden(
      'list-all-namespaces-wide.txt',
      formatRestoreTable(all, { now: NOW, allNamespaces: true, wide: true }),
    );
  });

  it("shows the populator's restore by the user's PVC, with VIA only when there is one", () => {
    expectGolden(
      'list-populator.txt',
      formatRestoreTable([populating, succeeded], { now: NOW }),
    );
    expect(formatRestoreTable([succeeded], { now: NOW })).not.toContain('VIA');
    expectGolden('status-populator.txt', formatStatus(populating, NOW));
    expect(
      formatStatus({ ...populating, populator: { pvc: 'data' } }, NOW),
    ).toContain(
      'Via:          populator, RestoreSource <unknown: the PVC is gone>\n',
    );
  });

  it('prints one plain line per update when not on a terminal', () => {
    expect(formatProgressLine(restoring)).toBe(
      'restore/restore-data-1a2b3c4d Restoring: 1,204/3,000 objects, 1.20 GiB/3.00 GiB (39%), 55.0 MiB/s, ETA 33s\n',
    );
    expect(formatProgressLine(pending)).toBe(
      'restore/restore-cache-55667788 Pending: CreateContainerConfigError: secret "s3-creds" not found\n',
    );
  });

  describe('text other users control', () => {
    // an editor of team-b aims at an admin running `kubectl restore list -A -o wide`
    const hostile = {
      ...failed,
      namespace: 'team-b',
      source: 's3://backups/p/\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J',
      requester: 'mallory\u202etxt.exe',
      waitingReason: 'line one\nline two\x1b[1A',
      error: {
        code: 'NO_SUCH_BUCKET',
        message: 'gone\x1b[H\x1b[2J\u009b31m',
      },
    } as typeof failed;
    // anything a terminal acts on: C0 (newline included inside a value), DEL, C1, bidi
    const active =
      // eslint-disable-next-line no-control-regex
      /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

    it('prints every table cell as visible escapes', () => {
      const table = formatRestoreTable([restoring, hostile], {
        now: NOW,
        allNamespaces: true,
        wide: true,
      });
      expect(table).not.toMatch(active);
      expect(table.split('\n')).toHaveLength(4);
      expect(table).toContain(
        's3://backups/p/\\x1b]52;c;cm0gLXJmIH4=\\x07\\x1b[2J',
      );
      expect(table).toContain('mallory\\u{202e}txt.exe');
      expectGolden('list-hostile-wide.txt', table);
    });

    it('prints every status and describe field and event as visible escapes', () => {
      const text = formatDescribe(
        hostile,
        [
          {
            type: 'Warning',
            reason: 'Forged\x1b]0;title\x07',
            object: 'job/x',
            message: 'multi\nline\tmessage\x1b[2J',
            time: '2026-11-21T11:59:00Z',
          },
        ],
        NOW,
      );
      // only the line ends of the block itself remain
      expect(text).not.toMatch(active);
      expect(text).toContain('Source:       s3://backups/p/\\x1b]52;c;');
      expect(text).toContain('Waiting:      line one\\x0aline two\\x1b[1A\n');
      expect(text).toContain('NO_SUCH_BUCKET: gone\\x1b[H\\x1b[2J\\x9b31m');
      expect(text).toContain('multi\\x0aline\\x09message\\x1b[2J');
      expect(text).toContain('Forged\\x1b]0;title\\x07');
    });

    it('prints the progress line as visible escapes', () => {
      expect(
        formatProgressLine({ ...pending, waitingReason: '\x1b]52;c;eA==\x07' }),
      ).toBe('restore/restore-cache-55667788 Pending: \\x1b]52;c;eA==\\x07\n');
    });
  });
});
