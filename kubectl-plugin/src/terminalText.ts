/**
 * Text other users control (a RestoreSource's bucket and prefix, a status message, an event) made
 * safe to print to a terminal: an editor of one namespace must not reach the terminal of an admin
 * who lists every namespace (OSC 52 clipboard writes, screen clears, reordered text).
 */

/** What a terminal acts on rather than shows. */
// eslint-disable-next-line no-control-regex
const ACTIVE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Escapes control and reordering characters as visible text: C0 controls (newline and tab too, so a
 * table cell stays one cell) and DEL as `\xNN`, C1 controls as `\xNN`, and the bidi embeddings,
 * overrides and isolates (U+202A-202E, U+2066-2069) as `\u{NNNN}`. Everything else is kept.
 */
export function printable(s: string): string {
  return s.replace(ACTIVE, c => {
    const code = c.codePointAt(0)!;
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u{${code.toString(16)}}`;
  });
}
