/**
 * One page of ListObjectsV2 as S3 sends it (a `ListBucketResult` XML document), read in one pass by
 * a reader of the plain XML S3 writes, outside the SDK's command: the job lists on the lean path
 * (access.ts `listObjectsV2`), because the SDK command's set-up and schema deserializer cost more
 * CPU than the rest of a small restore's start, and a general XML reader's tree cost a small
 * restore's first page most of its parsing time (job-image/README.md, "Listing without the SDK").
 *
 * Fail-closed: anything S3 never sends and a reader might read differently is refused (comments,
 * CDATA, processing instructions, attributes, white space inside tags, text beside elements,
 * content after the root, a cut-short body, references an XML reader in JavaScript decodes
 * otherwise, characters XML forbids), then the fields the job relies on are checked. Every refusal
 * is a SERVER_ERROR naming what is wrong, quoting at most 200 characters. What it accepts it reads
 * as an XML reader does (listPage.test.ts compares it with the SDK's `parseXML`): CR LF and CR as
 * LF, the five entities and character references decoded, an element of white space holding a
 * line break as empty.
 *
 * Keys: the request asks for `encoding-type=url`; when the page echoes `<EncodingType>url`, each
 * Key is '+' → space then percent-decoded, so its bytes are exact. A server that ignores the
 * parameter (versitygw) sends keys as XML text, taken as read; an XML reader turns a raw CR (or
 * CR LF) into LF, so such a page with a raw CR in its text is refused.
 */
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
/** The root's start tag (with its namespace, if any) and the text after it. */
const ROOT = /<(ListBucketResult(?: xmlns="[^"<&]*")?|Error)>([^<]*)/y;
/**
 * One step of the reader, and the text after it up to the next `<`: a leaf element whole
 * (`<Name>text</Name>`: name 1, text 2), an end tag (3), or a start or empty-element tag (4, and
 * 5 the `/` of an empty one). Names are plain: no prefix, no attribute, no white space.
 */
const TOKEN =
  /<(?:([A-Za-z][A-Za-z0-9]*)>([^<]*)<\/\1>|\/([A-Za-z][A-Za-z0-9]*)>|([A-Za-z][A-Za-z0-9]*)(\/?)>)([^<]*)/y;
const ENTITY =
  /&(?:#x([0-9A-Fa-f]{1,6})|#([0-9]{1,7})|(amp|lt|gt|quot|apos));/g;
const NAMED: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

/**
 * References are decoded with String.fromCharCode, as XML readers in JavaScript do: only BMP
 * characters XML allows, no NUL.
 */
function charRefAllowed(code: number): boolean {
  return (code >= 0x1 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd);
}

/** The document's characters and references: only what XML allows and readers decode alike. */
function checkCharacters(xml: string): void {
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
}

/** A field's text, or why it has none: elements inside it, or the field came more than once. */
const NOT_TEXT = Symbol('not text');
const REPEATED = Symbol('repeated');
type Field = string | typeof NOT_TEXT | typeof REPEATED;
type Fields = Map<string, Field>;

function record(fields: Fields, name: string, value: Field): void {
  fields.set(name, fields.has(name) ? REPEATED : value);
}

/** A text between tags that is no element's value: only white space is. */
function assertBlank(text: string): void {
  if (text !== '' && text.trim() !== '')
    throw malformed(`text beside elements: ${quote(text)}`);
}

function decodeReference(
  _: string,
  hex: string | undefined,
  dec: string | undefined,
  named: string,
): string {
  if (hex !== undefined) return String.fromCharCode(parseInt(hex, 16));
  if (dec !== undefined) return String.fromCharCode(parseInt(dec, 10));
  return NAMED[named];
}

/** An element's text as an XML reader gives it. */
function valueOf(raw: string): string {
  let value = raw.includes('\r') ? raw.replace(/\r\n?/g, '\n') : raw;
  if (value.includes('&')) value = value.replace(ENTITY, decodeReference);
  return value.trim() === '' && value.includes('\n') ? '' : value;
}

/** What the document holds for the job: its root's fields, and each `<Contents>`'s. */
interface Document {
  root: 'ListBucketResult' | 'Error';
  /** The root held no element. */
  empty: boolean;
  fields: Fields;
  entries: Fields[];
  /** Some text holds a raw CR (which an XML reader reads as LF). */
  rawCR: boolean;
}

/** Why the plain tag expected at `pos` is not there. */
function notATag(xml: string, pos: number): RestoreError {
  if (pos >= xml.length)
    return malformed('the document ends before its root is closed (cut short)');
  const close = xml.indexOf('>', pos);
  if (close < 0)
    return malformed(
      `markup not closed (cut short?): ${quote(xml.slice(pos))}`,
    );
  return malformed(
    `markup S3 does not send: ${quote(xml.slice(pos, close + 1))}`,
  );
}

/** A text between tags: not longer than S3 ever sends; says whether it holds a raw CR. */
function checkText(text: string, doc: Document): void {
  if (text.length > MAX_TEXT)
    throw malformed(
      `a text of ${text.length} characters (S3's longest field is a few KiB): ${quote(text)}`,
    );
  if (text.includes('\r') && text.trim() !== '') doc.rawCR = true;
}

/**
 * Reads the document's markup in one pass, one sticky expression a step (a leaf element whole, or
 * one tag): plain tags only, each closed by its own name, balanced to one root with nothing after it.
 */
function readDocument(xml: string): Document {
  checkCharacters(xml);
  let pos = DECLARATION.exec(xml)?.[0].length ?? 0;
  const first = xml.indexOf('<', pos);
  if (first < 0) throw malformed(`no root element in ${quote(xml)}`);
  if (xml.slice(pos, first).trim() !== '')
    throw malformed(`text before the root: ${quote(xml.slice(pos, first))}`);
  ROOT.lastIndex = first;
  const root = ROOT.exec(xml);
  if (!root) {
    const close = xml.indexOf('>', first);
    if (close < 0) throw notATag(xml, first);
    throw malformed(
      `the root is ${quote(xml.slice(first, close + 1))}, not <ListBucketResult> or <Error>`,
    );
  }
  const doc: Document = {
    root: root[1] === 'Error' ? 'Error' : 'ListBucketResult',
    empty: true,
    fields: new Map(),
    entries: [],
    rawCR: false,
  };
  const listing = doc.root === 'ListBucketResult';
  /** The elements open below the root, outermost first. */
  const open: string[] = [];
  let entry: Fields | undefined;
  /** A child of the element open: a field of the root or of the `<Contents>` open, or deeper. */
  const place = (name: string, value: Field) => {
    if (open.length === 0) {
      if (listing && name === 'Contents') doc.entries.push(new Map());
      else record(doc.fields, name, value);
    } else if (open.length === 1 && entry) record(entry, name, value);
  };
  // The text after the last step, and whether that step opened an element (which the text is the
  // value of, if the next tag closes it).
  let text = root[2];
  let leaf = true;
  pos = ROOT.lastIndex;
  for (;;) {
    checkText(text, doc);
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(xml);
    if (!m) throw notATag(xml, pos);
    pos = TOKEN.lastIndex;
    const endName = m[3];
    if (endName === undefined) {
      // a child of the element open, so no text beside it
      assertBlank(text);
      doc.empty = false;
      if (m[1] !== undefined) {
        checkText(m[2], doc);
        place(m[1], valueOf(m[2]));
        leaf = false;
      } else if (m[5] === '/') {
        place(m[4], '');
        leaf = false;
      } else {
        if (open.length === 0 && listing && m[4] === 'Contents') {
          entry = new Map();
          doc.entries.push(entry);
        }
        open.push(m[4]);
        leaf = true;
      }
      text = m[6];
      continue;
    }
    const name = open.pop();
    if (name === undefined) {
      // the root's end: nothing after it
      if (endName !== doc.root)
        throw malformed(`<${doc.root}> closed by </${endName}>`);
      if (!leaf) assertBlank(text);
      if (pos < xml.length)
        throw malformed(
          `content after the root element: ${quote(xml.slice(pos))}`,
        );
      if (m[6].trim() !== '')
        throw malformed(`content after the root: ${quote(m[6])}`);
      return doc;
    }
    if (endName !== name) throw malformed(`<${name}> closed by </${endName}>`);
    if (!leaf) assertBlank(text);
    if (open.length === 0 && listing && name === 'Contents') entry = undefined;
    else place(name, leaf ? valueOf(text) : NOT_TEXT);
    leaf = false;
    text = m[6];
  }
}

/** Where a field is, for a refusal: said only when one is made. */
type Where = string | (() => string);
const said = (where: Where) => (typeof where === 'string' ? where : where());

/** The text of `name`: undefined when absent; refused when repeated or not text. */
function fieldText(
  fields: Fields,
  name: string,
  where: Where,
): string | undefined {
  const value = fields.get(name);
  if (value === REPEATED)
    throw malformed(`${said(where)} has more than one <${name}>`);
  if (value === NOT_TEXT)
    throw malformed(`${said(where)}'s <${name}> is not text`);
  return value;
}

function sizeOf(value: string | undefined, where: Where): number {
  if (value === undefined) throw malformed(`${said(where)} has no <Size>`);
  const size = /^[0-9]{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(size))
    throw malformed(
      `${said(where)}'s Size is ${quote(value)}, not a byte count`,
    );
  return size;
}

const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function dateOf(value: string | undefined, where: Where): Date | undefined {
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
      `${said(where)}'s LastModified is ${quote(value)}, not an ISO 8601 time`,
    );
  return date;
}

/** A url-encoded key (encoding-type=url): '+' is a space, then percent-escapes of UTF-8. */
function urlDecoded(value: string, where: Where): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw malformed(
      `${said(where)}'s url-encoded Key ${quote(value)} does not decode`,
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
  const doc = readDocument(xml);
  if (doc.root === 'Error') {
    const code = fieldText(doc.fields, 'Code', '<Error>');
    if (!code) throw malformed('an <Error> document without a <Code>');
    throw new ListPageS3Error(
      code.slice(0, QUOTE_MAX),
      (fieldText(doc.fields, 'Message', '<Error>') ?? '').slice(0, QUOTE_MAX),
    );
  }
  if (doc.empty) throw malformed('an empty <ListBucketResult>');
  const where = '<ListBucketResult>';
  const truncated = fieldText(doc.fields, 'IsTruncated', where);
  if (truncated !== 'true' && truncated !== 'false')
    throw malformed(
      truncated === undefined
        ? 'no <IsTruncated>'
        : `IsTruncated is ${quote(truncated)}`,
    );
  const isTruncated = truncated === 'true';
  const token = fieldText(doc.fields, 'NextContinuationToken', where);
  if (isTruncated && !token)
    throw malformed('it is truncated but has no NextContinuationToken');
  // versitygw, which ignores encoding-type, sends it empty.
  const encoding = fieldText(doc.fields, 'EncodingType', where) || undefined;
  if (encoding !== undefined && encoding !== 'url')
    throw malformed(`EncodingType is ${quote(encoding)}, not "url"`);
  // Keys not url-encoded are XML text; an XML reader would turn their raw CR into LF.
  if (doc.rawCR && encoding !== 'url')
    throw malformed(
      'a raw CR in its text without encoding-type=url: XML reads it as LF, so a key would change',
    );
  const { entries } = doc;
  if (entries.length > maxKeys)
    throw malformed(
      `${entries.length} <Contents> entries, more than the ${maxKeys} asked for`,
    );
  const keyCount = fieldText(doc.fields, 'KeyCount', where);
  if (keyCount !== undefined && keyCount !== String(entries.length))
    throw malformed(
      `KeyCount is ${quote(keyCount)} but there are ${entries.length} <Contents>`,
    );
  const contents = entries.map((fields, index): ListedEntry => {
    const at = () => `<Contents> #${index + 1}`;
    const rawKey = fieldText(fields, 'Key', at);
    if (!rawKey) throw malformed(`${at()} has no <Key> or an empty one`);
    const key = encoding === 'url' ? urlDecoded(rawKey, at) : rawKey;
    const named = () => `${at()} (${quote(key)})`;
    if (!key) throw malformed(`${named()} has an empty Key`);
    return {
      key,
      size: sizeOf(fieldText(fields, 'Size', named), named),
      etag: fieldText(fields, 'ETag', named),
      lastModified: dateOf(fieldText(fields, 'LastModified', named), named),
      storageClass: fieldText(fields, 'StorageClass', named) || undefined,
    };
  });
  return {
    contents,
    isTruncated,
    nextContinuationToken: token || undefined,
  };
}
