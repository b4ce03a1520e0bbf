/**
 * Termination-message codec, version 1: the job program's last word, written to the file the kubelet
 * reads (TERMINATION_MESSAGE_PATH) and read back by core from the pod's status. One line of JSON,
 * at most 4096 bytes, since the kubelet keeps no more. Never contains credentials.
 */
import { z } from 'zod';
import { ERROR_CODE_NAMES, ErrorCode, JOB_PHASES } from './phases';

export const TERMINATION_MESSAGE_MAX_BYTES = 4096;
const MAX_ENTRY_BYTES = 1024;
export const TERMINATION_MESSAGE_VERSION = 1;

const count = z.number().int().min(0);

export const terminationMessageSchema = z
  .object({
    v: z.literal(TERMINATION_MESSAGE_VERSION),
    phase: z.enum(['Succeeded', 'Failed']),
    code: z.enum(ERROR_CODE_NAMES).optional(),
    message: z.string().max(TERMINATION_MESSAGE_MAX_BYTES).default(''),
    /** Phase the program was in when it failed. */
    failedPhase: z.enum(JOB_PHASES).optional(),
    objects: count.default(0),
    objectsSkipped: count.default(0),
    bytes: count.default(0),
    durationMs: count.default(0),
    /** Path of the integrity manifest, relative to the volume's root. */
    manifest: z.string().max(256).optional(),
    /** The key or archive entry that caused the failure, if any. */
    entry: z.string().max(MAX_ENTRY_BYTES).optional(),
    shard: z
      .object({ index: count, count: z.number().int().min(1) })
      .optional(),
  })
  .passthrough();

export type TerminationMessage = z.output<typeof terminationMessageSchema>;
export type TerminationMessageInput = z.input<typeof terminationMessageSchema>;

export type DecodedTerminationMessage =
  | { kind: 'structured'; message: TerminationMessage }
  | { kind: 'text'; text: string }
  | { kind: 'empty' };

const encoder = new TextEncoder();
const byteLength = (text: string) => encoder.encode(text).length;

/** Cuts `text` to at most `maxBytes` UTF-8 bytes without splitting a character. */
export function truncateUtf8(
  text: string,
  maxBytes: number,
  ellipsis = '…',
): string {
  if (byteLength(text) <= maxBytes) return text;
  const room = maxBytes - byteLength(ellipsis);
  if (room <= 0) return '';
  let bytes = 0;
  let out = '';
  for (const char of text) {
    const size = byteLength(char);
    if (bytes + size > room) break;
    bytes += size;
    out += char;
  }
  return out + ellipsis;
}

/**
 * One line of JSON of at most 4096 bytes. The human message (and then the entry) is cut to fit;
 * the structure never is. Control characters are escaped by JSON, so the result has no newline.
 */
export function encodeTerminationMessage(
  input: Omit<TerminationMessageInput, 'v'>,
): string {
  // A message or entry past the schema's bounds (an archive path of 4 KB) is cut, never refused:
  // the termination message must be written whatever the failure was.
  const parsed = terminationMessageSchema.parse({
    ...input,
    ...(typeof input.message === 'string'
      ? {
          message: truncateUtf8(input.message, TERMINATION_MESSAGE_MAX_BYTES),
        }
      : {}),
    ...(typeof input.entry === 'string'
      ? { entry: truncateUtf8(input.entry, MAX_ENTRY_BYTES) }
      : {}),
    v: TERMINATION_MESSAGE_VERSION,
  });
  const full = JSON.stringify(parsed);
  if (byteLength(full) <= TERMINATION_MESSAGE_MAX_BYTES) return full;
  const withoutText = JSON.stringify({
    ...parsed,
    message: '',
    entry: parsed.entry === undefined ? undefined : '',
  });
  let room = TERMINATION_MESSAGE_MAX_BYTES - byteLength(withoutText);
  const cut = { ...parsed };
  // The entry first gets up to a quarter of the room; the message takes what is left.
  if (parsed.entry !== undefined) {
    cut.entry = fitJsonString(
      parsed.entry,
      Math.min(room, Math.floor(TERMINATION_MESSAGE_MAX_BYTES / 4)),
    );
    room -= byteLength(JSON.stringify(cut.entry)) - 2;
  }
  cut.message = fitJsonString(parsed.message, room);
  const out = JSON.stringify(cut);
  if (byteLength(out) > TERMINATION_MESSAGE_MAX_BYTES) {
    // Unreachable with the schema's bounds; keep the contract anyway.
    return JSON.stringify({ ...cut, message: '', entry: undefined });
  }
  return out;
}

/** The longest prefix of `text` whose JSON string body fits in `maxBytes` bytes. */
function fitJsonString(text: string, maxBytes: number): string {
  const jsonBytes = (s: string) => byteLength(JSON.stringify(s)) - 2;
  if (jsonBytes(text) <= maxBytes) return text;
  const chars = Array.from(text);
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (jsonBytes(`${chars.slice(0, mid).join('')}…`) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  return lo === 0 ? '' : `${chars.slice(0, lo).join('')}…`;
}

/**
 * Reads whatever a pod left: our JSON, the plain text of an old or crashed program (or the
 * kubelet's log-tail fallback), or nothing. Never throws.
 */
export function decodeTerminationMessage(
  raw: string | undefined | null,
): DecodedTerminationMessage {
  const text = (raw ?? '').trim();
  if (!text) return { kind: 'empty' };
  if (text.startsWith('{')) {
    try {
      const result = terminationMessageSchema.safeParse(JSON.parse(text));
      if (result.success) return { kind: 'structured', message: result.data };
    } catch {
      // not JSON after all: fall through to text
    }
  }
  return {
    kind: 'text',
    text: truncateUtf8(text, TERMINATION_MESSAGE_MAX_BYTES),
  };
}

export function failureMessage(
  code: ErrorCode,
  message: string,
  extra: Partial<TerminationMessageInput> = {},
) {
  return encodeTerminationMessage({ ...extra, phase: 'Failed', code, message });
}
