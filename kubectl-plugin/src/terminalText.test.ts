import { formatError } from './errors';
import { printable } from './terminalText';

describe('printable', () => {
  it('turns an OSC 52 clipboard write into visible text', () => {
    const osc52 = 'p/\x1b]52;c;ZWNobyBwd25lZA==\x07';
    expect(printable(osc52)).toBe('p/\\x1b]52;c;ZWNobyBwd25lZA==\\x07');
  });

  it('turns a CSI screen clear and cursor move into visible text', () => {
    expect(printable('a\x1b[2J\x1b[H')).toBe('a\\x1b[2J\\x1b[H');
  });

  it('shows newline, tab, carriage return, DEL and C1 controls (CSI 0x9b, NEL 0x85)', () => {
    expect(printable('a\nb\tc\rd\x7fe\u009b2Jf\u0085')).toBe(
      'a\\x0ab\\x09c\\x0dd\\x7fe\\x9b2Jf\\x85',
    );
  });

  it('shows the bidi overrides and isolates that reorder what a terminal shows', () => {
    expect(printable('evil\u202egpj.exe\u2066x\u2069\u202a\u202c')).toBe(
      'evil\\u{202e}gpj.exe\\u{2066}x\\u{2069}\\u{202a}\\u{202c}',
    );
  });

  it('keeps ordinary and non-Latin text as it is', () => {
    const text = 's3://backups/team-a/données/日本語/ é — ✓';
    expect(printable(text)).toBe(text);
  });

  it('escapes the one-line error report too (a failed restore carries its message)', () => {
    expect(
      formatError(new Error('restore x failed: E: gone\x1b]52;c;eA==\x07')),
    ).toBe('error: restore x failed: E: gone\\x1b]52;c;eA==\\x07\n');
  });
});
