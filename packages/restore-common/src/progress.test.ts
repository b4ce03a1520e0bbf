import {
  encodeLogLine,
  encodeProgressLine,
  lastProgressLine,
  parseJobOutputLine,
} from './progress';

describe('progress lines', () => {
  const now = new Date('2026-11-21T01:00:00Z');

  it('round-trips a progress line', () => {
    const line = encodeProgressLine(
      {
        phase: 'Restoring',
        objectsDone: 3,
        objectsTotal: 10,
        bytesDone: 300,
        bytesTotal: 1000,
        bytesPerSecond: 100,
        etaSeconds: 7,
      },
      now,
    );
    expect(parseJobOutputLine(line)).toEqual({
      type: 'progress',
      line: {
        type: 'progress',
        ts: '2026-11-21T01:00:00.000Z',
        phase: 'Restoring',
        objectsDone: 3,
        objectsTotal: 10,
        objectsSkipped: 0,
        bytesDone: 300,
        bytesTotal: 1000,
        bytesPerSecond: 100,
        etaSeconds: 7,
      },
    });
  });

  it('classifies log lines and foreign text', () => {
    expect(
      parseJobOutputLine(encodeLogLine('warn', 'slow down', { key: 'a' }, now)),
    ).toEqual({
      type: 'log',
      line: {
        type: 'log',
        ts: '2026-11-21T01:00:00.000Z',
        level: 'warn',
        msg: 'slow down',
        key: 'a',
      },
    });
    expect(parseJobOutputLine('Segmentation fault')).toEqual({
      type: 'text',
      text: 'Segmentation fault',
    });
    expect(parseJobOutputLine('{"type":"progress","phase":"Bogus"}').type).toBe(
      'text',
    );
    expect(parseJobOutputLine('{not json').type).toBe('text');
  });

  it('finds the newest progress line in a log', () => {
    const log = [
      encodeProgressLine(
        { phase: 'Planning', objectsDone: 0, bytesDone: 0 },
        now,
      ),
      encodeLogLine('info', 'listing done', {}, now),
      encodeProgressLine(
        { phase: 'Restoring', objectsDone: 5, bytesDone: 50 },
        now,
      ),
      'garbage',
      '',
    ].join('\n');
    expect(lastProgressLine(log)).toMatchObject({
      phase: 'Restoring',
      objectsDone: 5,
    });
    expect(lastProgressLine('nothing here')).toBeUndefined();
  });
});
