/**
 * One page of ListObjectsV2 as S3 sends it (a `ListBucketResult` XML document), read without the
 * SDK: the job lists on the lean path (access.ts `listObjectsV2`), because the SDK's schema-driven
 * XML deserializer and its first-call set-up cost more CPU than the rest of a small restore's
 * start (bench/README.md). Only what the job reads: each object's key, size, ETag, last-modified
 * time and storage class, and whether and where the listing goes on.
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

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

function malformed(why: string): RestoreError {
  return new RestoreError(
    'SERVER_ERROR',
    `the ListObjectsV2 response is not a ListBucketResult S3 would send: ${why}`,
  );
}

/** Character data with XML's five entities and character references decoded. */
export function unescapeXml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&([^;&]*);?/g, (whole, name: string) => {
    if (!whole.endsWith(';')) throw malformed(`a bare "&" in "${text}"`);
    if (name in ENTITIES) return ENTITIES[name];
    const m = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(name);
    const code = m ? parseInt(m[1] ?? m[2], m[1] ? 16 : 10) : NaN;
    if (!(code >= 0 && code <= 0x10ffff))
      throw malformed(`an unknown entity "${whole}"`);
    return String.fromCodePoint(code);
  });
}

/** The text of the first `<tag>` element in `xml[from, to)`, or undefined when there is none. */
function textOf(
  xml: string,
  tag: string,
  from = 0,
  to = xml.length,
): string | undefined {
  const open = `<${tag}>`;
  const start = xml.indexOf(open, from);
  if (start < 0 || start >= to) {
    const empty = xml.indexOf(`<${tag}/>`, from);
    return empty >= 0 && empty < to ? '' : undefined;
  }
  const begin = start + open.length;
  const end = xml.indexOf(`</${tag}>`, begin);
  if (end < 0 || end > to) throw malformed(`<${tag}> is not closed`);
  const inner = xml.slice(begin, end);
  if (inner.startsWith('<![CDATA[') && inner.endsWith(']]>'))
    return inner.slice(9, -3);
  if (inner.includes('<'))
    throw malformed(`<${tag}> holds markup: "${inner.slice(0, 200)}"`);
  return unescapeXml(inner);
}

function sizeOf(text: string | undefined, key: string): number {
  if (text === undefined) return 0;
  const size = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(size))
    throw malformed(`the Size of "${key}" is "${text}", not a byte count`);
  return size;
}

function dateOf(text: string | undefined, key: string): Date | undefined {
  if (text === undefined) return undefined;
  const date = new Date(text.trim());
  if (Number.isNaN(date.getTime()))
    throw malformed(`the LastModified of "${key}" is "${text}", not a time`);
  return date;
}

/** Parses one ListObjectsV2 page; anything S3 would not send is a SERVER_ERROR naming it. */
export function parseListObjectsV2(xml: string): ListObjectsV2Page {
  const root = xml.indexOf('<ListBucketResult');
  if (root < 0)
    throw malformed(`no <ListBucketResult> in "${xml.slice(0, 200)}"`);
  const contents: ListedEntry[] = [];
  let pos = root;
  for (;;) {
    const start = xml.indexOf('<Contents>', pos);
    if (start < 0) break;
    const end = xml.indexOf('</Contents>', start);
    if (end < 0) throw malformed('<Contents> is not closed');
    pos = end + '</Contents>'.length;
    const key = textOf(xml, 'Key', start, end);
    // As the SDK's result was read: an entry without a key is passed over.
    if (key === undefined) continue;
    contents.push({
      key,
      size: sizeOf(textOf(xml, 'Size', start, end), key),
      etag: textOf(xml, 'ETag', start, end),
      lastModified: dateOf(textOf(xml, 'LastModified', start, end), key),
      storageClass: textOf(xml, 'StorageClass', start, end) || undefined,
    });
  }
  // The page's own elements, outside its Contents (which hold none of these names).
  const truncated = textOf(xml, 'IsTruncated', root)?.trim();
  if (truncated !== undefined && truncated !== 'true' && truncated !== 'false')
    throw malformed(`IsTruncated is "${truncated}"`);
  const token = textOf(xml, 'NextContinuationToken', root);
  const isTruncated = truncated === 'true';
  if (isTruncated && !token)
    throw malformed('it is truncated but has no NextContinuationToken');
  return {
    contents,
    isTruncated,
    nextContinuationToken: token || undefined,
  };
}
