import {
  decodeTerminationMessage,
  encodeTerminationMessage,
  TERMINATION_MESSAGE_MAX_BYTES,
  truncateUtf8,
} from './termination';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('termination message codec', () => {
  it('round-trips a success', () => {
    const line = encodeTerminationMessage({
      phase: 'Succeeded',
      objects: 120,
      objectsSkipped: 3,
      bytes: 123456789,
      durationMs: 4200,
      manifest: '.kube-restore/manifest.jsonl',
    });
    expect(line).not.toContain('\n');
    expect(decodeTerminationMessage(line)).toEqual({
      kind: 'structured',
      message: {
        v: 1,
        phase: 'Succeeded',
        message: '',
        objects: 120,
        objectsSkipped: 3,
        bytes: 123456789,
        durationMs: 4200,
        manifest: '.kube-restore/manifest.jsonl',
      },
    });
  });

  it('round-trips a failure with code, entry and newlines in the message', () => {
    const line = encodeTerminationMessage({
      phase: 'Failed',
      code: 'UNSAFE_PATH',
      message: 'entry escapes the volume:\n../../etc/passwd',
      entry: '../../etc/passwd',
      failedPhase: 'Restoring',
    });
    expect(line.split('\n')).toHaveLength(1);
    expect(decodeTerminationMessage(line)).toMatchObject({
      kind: 'structured',
      message: {
        code: 'UNSAFE_PATH',
        message: 'entry escapes the volume:\n../../etc/passwd',
        entry: '../../etc/passwd',
      },
    });
  });

  it.each([
    ['ascii', 'x'],
    ['two-byte', 'é'],
    ['three-byte', '漢'],
    ['four-byte emoji', '😀'],
    ['escaped control characters', '\u0001"\\'],
  ])(
    'cuts a huge %s message to 4096 bytes without breaking structure or characters',
    (_name, unit) => {
      const message = unit.repeat(5000);
      const entry = unit.repeat(2000);
      const line = encodeTerminationMessage({
        phase: 'Failed',
        code: 'INTERNAL',
        message: message.slice(0, 4096),
        entry: entry.slice(0, 1024),
        bytes: 42,
      });
      expect(bytes(line)).toBeLessThanOrEqual(TERMINATION_MESSAGE_MAX_BYTES);
      const decoded = decodeTerminationMessage(line);
      expect(decoded.kind).toBe('structured');
      if (decoded.kind !== 'structured') return;
      expect(decoded.message.code).toBe('INTERNAL');
      expect(decoded.message.bytes).toBe(42);
      expect(decoded.message.message.endsWith('…')).toBe(true);
      expect(decoded.message.message).not.toContain('\uFFFD');
      expect(
        Array.from(decoded.message.message.slice(0, -1)).every(c =>
          unit.includes(c),
        ),
      ).toBe(true);
      // Nearly all the room is used: the cut is tight, not wasteful.
      expect(bytes(line)).toBeGreaterThan(TERMINATION_MESSAGE_MAX_BYTES - 16);
    },
  );

  it('cuts an entry and a message past the schema bounds (a 4 KB archive path) instead of throwing', () => {
    const entry = `${'d'.repeat(200)}/`.repeat(22);
    const line = encodeTerminationMessage({
      phase: 'Failed',
      code: 'UNSAFE_PATH',
      message: `refused "${entry}": it has a path longer than 4095 bytes`,
      entry,
    });
    expect(bytes(line)).toBeLessThanOrEqual(TERMINATION_MESSAGE_MAX_BYTES);
    const decoded = decodeTerminationMessage(line) as {
      message: { code: string; entry: string };
    };
    expect(decoded).toMatchObject({
      kind: 'structured',
      message: { code: 'UNSAFE_PATH' },
    });
    expect(entry.startsWith(decoded.message.entry.slice(0, -1))).toBe(true);
  });

  it('refuses a message that breaks the contract at encode time', () => {
    expect(() =>
      encodeTerminationMessage({ phase: 'Restoring' as 'Failed' }),
    ).toThrow();
    expect(() =>
      encodeTerminationMessage({ phase: 'Failed', code: 'NOPE' as 'INTERNAL' }),
    ).toThrow();
  });

  it.each([
    ['', { kind: 'empty' }],
    ['   \n', { kind: 'empty' }],
    [undefined, { kind: 'empty' }],
    ['panic: runtime error', { kind: 'text', text: 'panic: runtime error' }],
    ['{"v":1,"phase":"Succe', { kind: 'text', text: '{"v":1,"phase":"Succe' }],
    [
      '{"v":2,"phase":"Succeeded"}',
      { kind: 'text', text: '{"v":2,"phase":"Succeeded"}' },
    ],
    [
      '{"v":1,"phase":"Succeeded","objects":-1}',
      { kind: 'text', text: '{"v":1,"phase":"Succeeded","objects":-1}' },
    ],
    ['[1,2,3]', { kind: 'text', text: '[1,2,3]' }],
    ['\u0000\u0001binary', { kind: 'text', text: '\u0000\u0001binary' }],
  ])('decodes %j without throwing', (raw, expected) => {
    expect(decodeTerminationMessage(raw)).toEqual(expected);
  });

  it('keeps fields a newer writer adds', () => {
    const decoded = decodeTerminationMessage(
      '{"v":1,"phase":"Succeeded","future":true}',
    );
    expect(decoded).toMatchObject({
      kind: 'structured',
      message: { phase: 'Succeeded', future: true },
    });
  });

  it('bounds a huge plain-text message', () => {
    const decoded = decodeTerminationMessage('é'.repeat(10000));
    const text = decoded.kind === 'text' ? decoded.text : '';
    expect(decoded.kind).toBe('text');
    expect(bytes(text)).toBeGreaterThan(TERMINATION_MESSAGE_MAX_BYTES - 8);
    expect(bytes(text)).toBeLessThanOrEqual(TERMINATION_MESSAGE_MAX_BYTES);
  });
});

describe('truncateUtf8', () => {
  it('never splits a surrogate pair', () => {
    const out = truncateUtf8('😀😀😀', 9);
    expect(out).toBe('😀…');
    expect(bytes(out)).toBeLessThanOrEqual(9);
  });
});
