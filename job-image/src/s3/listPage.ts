/**
 * One page of ListObjectsV2 as S3 sends it (a `ListBucketResult` XML document), read with the
 * SDK's own XML reader (`parseXML` of @aws-sdk/xml-builder) but outside the SDK's command: the job
 * lists on the lean path (access.ts `listObjectsV2`), because the SDK command's set-up and schema
 * deserializer cost more CPU than the rest of a small restore's start (bench/README.md).
 *
 * Fail-closed: the document is first checked for what S3 never sends and a reader might read
 * differently (comments, CDATA, processing instructions, attributes, white space inside tags,
 * content after the root, a cut-short body, character references parseXML cannot decode, characters
 * XML forbids), then its tree for the fields the job relies on. Every refusal is a SERVER_ERROR
 * naming what is wrong, quoting at most 200 characters.
 *
 * Keys: the request asks for `encoding-type=url`; when the page echoes `<EncodingType>url`, each
 * Key is '+' → space then percent-decoded, so its bytes are exact. A server that ignores the
 * parameter (versitygw) sends keys as XML text, taken as read; an XML reader turns a raw CR (or
 * CR LF) into LF, so such a page with a raw CR in its text is refused.
 */
import { parseXML } from '@aws-sdk/xml-builder';
import { RestoreError } from '../errors';

export interface ListedEntry {
  key: string;
  size: number;
  /** As S3 sends it, quotes included (what the SDK gives). */
  etag?: string;
  lastModified?: Date;
  storageClass?: string;
}

export interface ListObjectsV2Page {
  contents: ListedEntry[];
  isTruncated: boolean;
  nextContinuationToken?: string;
}

/** A 200 response whose document is an S3 `<Error>`: access.ts raises it as that S3 error. */
export class ListPageS3Error extends Error {
  constructor(
    readonly code: string,
    readonly s3Message: string,
  ) {
    super(`${code}: ${s3Message}`);
    this.name = 'ListPageS3Error';
  }
}

const QUOTE_MAX = 200;
/** Longer than any text S3 sends: a 1,024-byte key url-encoded then entity-escaped is < 16 KiB. */
const MAX_TEXT = 64 * 1024;

/** `text` in quotes, cut to 200 characters. */
function quote(value: string): string {
  return value.length > QUOTE_MAX
    ? `${JSON.stringify(value.slice(0, QUOTE_MAX))}…`
    : JSON.stringify(value);
}

function malformed(why: string): RestoreError {
  return new RestoreError(
    'SERVER_ERROR',
    `the ListObjectsV2 response is not a ListBucketResult S3 would send: ${why}`,
  );
}

/** Characters XML 1.0 forbids raw, and unpaired surrogates. */
const FORBIDDEN_CHAR =
  // eslint-disable-next-line no-control-regex -- these are the characters looked for
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** An `&` that does not start one of XML's five entities or a character reference. */
const BAD_AMPERSAND =
  /&(?!(?:amp|lt|gt|quot|apos|#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7});)/;
const CHAR_REF = /&#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}));/g;
const DECLARATION = /^\s*<\?xml\s[^<>?]*\?>/;
const ROOT_TAG = /^(?:ListBucketResult(?: xmlns="[^"<&]*")?|Error)$/;
const TAG = /^(?:\/?[A-Za-z][A-Za-z0-9]*|[A-Za-z][A-Za-z0-9]*\/)$/;

/** parseXML decodes references with String.fromCharCode: only BMP characters XML allows, no NUL. */
function charRefAllowed(code: number): boolean {
  return (code >= 0x1 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd);
}

/**
 * One linear pass over the markup: only plain tags (the root may carry its namespace), balanced
 * to one root with nothing after it, and references parseXML decodes exactly. Returns whether some
 * text (not mere white space between tags) holds a raw CR, which XML reads as LF.
 */
function checkMarkup(xml: string): boolean {
  const bad = FORBIDDEN_CHAR.exec(xml);
  if (bad)
    throw malformed(
      `a character XML forbids (U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}) at offset ${bad.index}`,
    );
  const amp = BAD_AMPERSAND.exec(xml);
  if (amp)
    throw malformed(
      `an "&" that is no XML entity: ${quote(xml.slice(amp.index, amp.index + 12))}`,
    );
  for (const m of xml.matchAll(CHAR_REF)) {
    const code = parseInt(m[1] ?? m[2], m[1] ? 16 : 10);
    if (!charRefAllowed(code))
      throw malformed(`the character reference ${quote(m[0])}`);
  }
  let pos = DECLARATION.exec(xml)?.[0].length ?? 0;
  let depth = 0;
  let root = true;
  let rawCR = false;
  for (;;) {
    const open = xml.indexOf('<', pos);
    if (open < 0) break;
    if (depth === 0 && !root)
      throw malformed(
        `content after the root element: ${quote(xml.slice(open))}`,
      );
    if (open - pos > MAX_TEXT)
      throw malformed(
        `a text of ${open - pos} characters (S3's longest field is a few KiB): ${quote(xml.slice(pos, open))}`,
      );
    if (depth === 0 && xml.slice(pos, open).trim() !== '')
      throw malformed(`text before the root: ${quote(xml.slice(pos, open))}`);
    const close = xml.indexOf('>', open);
    if (close < 0)
      throw malformed(
        `markup not closed (cut short?): ${quote(xml.slice(open))}`,
      );
    const tag = xml.slice(open + 1, close);
    if (root ? !ROOT_TAG.test(tag) : !TAG.test(tag))
      throw malformed(
        root
          ? `the root is ${quote(`<${tag}>`)}, not <ListBucketResult> or <Error>`
          : `markup S3 does not send: ${quote(`<${tag}>`)}`,
      );
    root = false;
    if (tag.startsWith('/')) depth--;
    else if (!tag.endsWith('/')) depth++;
    const between = xml.slice(pos, open);
    if (between.includes('\r') && between.trim() !== '') rawCR = true;
    pos = close + 1;
  }
  if (root) throw malformed(`no root element in ${quote(xml)}`);
  if (depth !== 0)
    throw malformed('the document ends before its root is closed (cut short)');
  if (xml.slice(pos).trim() !== '')
    throw malformed(`content after the root: ${quote(xml.slice(pos))}`);
  return rawCR;
}

type Node = Record<string, unknown>;

/** The text of `name` in `node`: undefined when absent; refused when repeated or not text. */
function text(node: Node, name: string, where: string): string | undefined {
  if (!Object.hasOwn(node, name)) return undefined;
  const value = node[name];
  if (Array.isArray(value))
    throw malformed(`${where} has more than one <${name}>`);
  if (typeof value !== 'string')
    throw malformed(`${where}'s <${name}> is not text`);
  return value;
}

function sizeOf(value: string | undefined, where: string): number {
  if (value === undefined) throw malformed(`${where} has no <Size>`);
  const size = /^[0-9]{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(size))
    throw malformed(`${where}'s Size is ${quote(value)}, not a byte count`);
  return size;
}

const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function dateOf(value: string | undefined, where: string): Date | undefined {
  if (value === undefined) return undefined;
  const m = ISO_8601.exec(value);
  const fields = m ? m.slice(1, 7).map(Number) : [];
  const [year, month, day, hour, minute, second] = fields;
  const valid =
    m !== null &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= new Date(Date.UTC(year, month, 0)).getUTCDate() &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    (m[8] === 'Z' ||
      (Number(m[8].slice(1, 3)) <= 23 && Number(m[8].slice(4)) <= 59));
  // Date reads milliseconds; finer digits are dropped.
  const date = valid
    ? new Date(`${value.slice(0, 19)}${(m[7] ?? '').slice(0, 4)}${m[8]}`)
    : undefined;
  if (!date || Number.isNaN(date.getTime()))
    throw malformed(
      `${where}'s LastModified is ${quote(value)}, not an ISO 8601 time`,
    );
  return date;
}

/** A url-encoded key (encoding-type=url): '+' is a space, then percent-escapes of UTF-8. */
function urlDecoded(value: string, where: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw malformed(
      `${where}'s url-encoded Key ${quote(value)} does not decode`,
    );
  }
}

/**
 * Parses one ListObjectsV2 page of at most `maxKeys` entries (the max-keys asked for); anything
 * S3 would not send is a SERVER_ERROR naming it, an `<Error>` document a ListPageS3Error.
 */
export function parseListObjectsV2(
  xml: string,
  maxKeys: number,
): ListObjectsV2Page {
  const rawCR = checkMarkup(xml);
  let tree: Node;
  try {
    tree = parseXML(xml) as Node;
  } catch (error) {
    throw malformed(quote((error as Error).message));
  }
  if (Object.hasOwn(tree, 'Error')) {
    const error = tree.Error;
    const node: Node =
      typeof error === 'object' && error ? (error as Node) : {};
    const code = text(node, 'Code', '<Error>');
    if (!code) throw malformed('an <Error> document without a <Code>');
    throw new ListPageS3Error(
      code.slice(0, QUOTE_MAX),
      (text(node, 'Message', '<Error>') ?? '').slice(0, QUOTE_MAX),
    );
  }
  const result = tree.ListBucketResult;
  if (typeof result !== 'object' || result === null)
    throw malformed('an empty <ListBucketResult>');
  const page = result as Node;
  const where = '<ListBucketResult>';
  const truncated = text(page, 'IsTruncated', where);
  if (truncated !== 'true' && truncated !== 'false')
    throw malformed(
      truncated === undefined
        ? 'no <IsTruncated>'
        : `IsTruncated is ${quote(truncated)}`,
    );
  const isTruncated = truncated === 'true';
  const token = text(page, 'NextContinuationToken', where);
  if (isTruncated && !token)
    throw malformed('it is truncated but has no NextContinuationToken');
  // versitygw, which ignores encoding-type, sends it empty.
  const encoding = text(page, 'EncodingType', where) || undefined;
  if (encoding !== undefined && encoding !== 'url')
    throw malformed(`EncodingType is ${quote(encoding)}, not "url"`);
  // Keys not url-encoded are XML text; an XML reader would turn their raw CR into LF.
  if (rawCR && encoding !== 'url')
    throw malformed(
      'a raw CR in its text without encoding-type=url: XML reads it as LF, so a key would change',
    );
  const raw = page.Contents;
  let entries: unknown[] = [];
  if (Array.isArray(raw)) entries = raw;
  else if (raw !== undefined) entries = [raw];
  if (entries.length > maxKeys)
    throw malformed(
      `${entries.length} <Contents> entries, more than the ${maxKeys} asked for`,
    );
  const keyCount = text(page, 'KeyCount', where);
  if (keyCount !== undefined && keyCount !== String(entries.length))
    throw malformed(
      `KeyCount is ${quote(keyCount)} but there are ${entries.length} <Contents>`,
    );
  const contents = entries.map((entry, index): ListedEntry => {
    const at = `<Contents> #${index + 1}`;
    if (typeof entry !== 'object' || entry === null)
      throw malformed(`${at} has no <Key>`);
    const node = entry as Node;
    const rawKey = text(node, 'Key', at);
    if (!rawKey) throw malformed(`${at} has no <Key> or an empty one`);
    const key = encoding === 'url' ? urlDecoded(rawKey, at) : rawKey;
    const named = `${at} (${quote(key)})`;
    if (!key) throw malformed(`${named} has an empty Key`);
    return {
      key,
      size: sizeOf(text(node, 'Size', named), named),
      etag: text(node, 'ETag', named),
      lastModified: dateOf(text(node, 'LastModified', named), named),
      storageClass: text(node, 'StorageClass', named) || undefined,
    };
  });
  return {
    contents,
    isTruncated,
    nextContinuationToken: token || undefined,
  };
}
