/**
 * listPage.ts's reader against a general XML reader (the SDK's `parseXML`) on generated pages:
 * what S3 sends, with white space, entities, references, nested and empty elements and fields in
 * any order, read alike; the same pages damaged (a tag cut, doubled, renamed, a comment, CDATA,
 * text beside elements) refused whenever the general reader refuses them, and otherwise refused or
 * read alike.
 */
import { isDeepStrictEqual } from 'node:util';
import { parseXML } from '@aws-sdk/xml-builder';
import { rng } from '../__testUtils__/random';
import { ListObjectsV2Page, parseListObjectsV2 } from './listPage';

type Node = Record<string, unknown>;

/** The page as the general reader's tree gives it, for a page S3 would send. */
function readByTree(xml: string): ListObjectsV2Page {
  const page = (parseXML(xml) as Node).ListBucketResult as Node;
  const raw = page.Contents;
  let entries: Node[] = [];
  if (Array.isArray(raw)) entries = raw;
  else if (raw !== undefined) entries = [raw as Node];
  const url = page.EncodingType === 'url';
  return {
    contents: entries.map(e => {
      const key = e.Key as string;
      return {
        key: url ? decodeURIComponent(key.replace(/\+/g, ' ')) : key,
        size: Number(e.Size),
        etag: e.ETag as string | undefined,
        lastModified:
          e.LastModified === undefined
            ? undefined
            : new Date(e.LastModified as string),
        storageClass: (e.StorageClass as string | undefined) || undefined,
      };
    }),
    isTruncated: page.IsTruncated === 'true',
    nextContinuationToken: (page.NextContinuationToken as string) || undefined,
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T =>
  xs[Math.floor(r() * xs.length)];

/** Text as S3 escapes it, with the references a server may choose instead. */
function escaped(r: () => number, text: string): string {
  return [...text]
    .map(c => {
      if (c === '&') return pick(r, ['&amp;', '&#38;', '&#x26;']);
      if (c === '<') return pick(r, ['&lt;', '&#60;']);
      if (c === '>') return pick(r, ['>', '&gt;']);
      if (c === '"') return pick(r, ['"', '&quot;', '&#34;']);
      if (c === "'") return pick(r, ["'", '&apos;', '&#39;']);
      if (c === '\n') return pick(r, ['&#10;', '&#xA;']);
      return c;
    })
    .join('');
}

const KEY_CHARS = [
  'a',
  'Z',
  '0',
  '/',
  ' ',
  '+',
  '%',
  '&',
  '<',
  '>',
  '"',
  "'",
  '\n',
  'é',
  '\u{1F600}',
  '.',
];

function randomKey(r: () => number): string {
  let key = '';
  const length = 1 + Math.floor(r() * 12);
  while (key.length < length) key += pick(r, KEY_CHARS);
  // a key of only white space with a line break reads as empty: not one S3 lists
  return key.trim() === '' ? `k${key}` : key;
}

/** White space a server may put between elements (never inside a leaf). */
const gap = (r: () => number) =>
  pick(r, ['', '', '', '\n', '\r\n', '  ', '\n\t']);

function element(r: () => number, name: string, text: string): string {
  return text === '' && r() < 0.3 ? `<${name}/>` : `<${name}>${text}</${name}>`;
}

function randomEntry(r: () => number, url: boolean): string {
  const key = randomKey(r);
  const sentKey = url
    ? encodeURIComponent(key).replace(/%20/g, '+')
    : escaped(r, key);
  const fields = [
    element(r, 'Key', sentKey),
    element(r, 'Size', String(Math.floor(r() * 1e6))),
    element(
      r,
      'LastModified',
      pick(r, [
        '2026-12-06T06:38:50.123Z',
        '2026-01-31T23:59:59Z',
        '2026-02-28T00:00:00.5+01:00',
      ]),
    ),
    element(
      r,
      'ETag',
      // white space with a line break, raw or referenced, reads as empty
      pick(r, [
        escaped(r, '"9e107d9d372bb6826bd81d3542a419d6"'),
        escaped(r, '"abc-2"'),
        '',
        '\n  ',
        ' &#10; ',
        ' \t ',
        // a raw CR, which XML reads as LF (refused where keys are not url-encoded)
        url ? '"x\r\ny\rz"' : '',
      ]),
    ),
    element(r, 'StorageClass', pick(r, ['STANDARD', 'GLACIER', ''])),
    `<Owner>${gap(r)}${element(r, 'ID', 'o')}${gap(r)}${element(r, 'DisplayName', escaped(r, 'a & b'))}${gap(r)}</Owner>`,
    element(r, 'ChecksumAlgorithm', 'CRC64NVME'),
    element(r, 'ChecksumAlgorithm', 'CRC32C'),
    `<RestoreStatus><IsRestoreInProgress>false</IsRestoreInProgress></RestoreStatus>`,
  ].filter((_, i) => i < 3 || r() < 0.6);
  for (let i = fields.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [fields[i], fields[j]] = [fields[j], fields[i]];
  }
  return `<Contents>${fields.map(f => `${gap(r)}${f}`).join('')}${gap(r)}</Contents>`;
}

function randomPage(r: () => number): string {
  const url = r() < 0.5;
  const count = Math.floor(r() * 5);
  const truncated = r() < 0.5;
  const parts = [
    element(r, 'Name', 'bucket'),
    element(r, 'Prefix', escaped(r, pick(r, ['', 'p/', 'a&b/']))),
    element(r, 'KeyCount', String(count)),
    element(r, 'MaxKeys', '1000'),
    element(r, 'IsTruncated', String(truncated)),
    ...(truncated || r() < 0.3
      ? [
          element(
            r,
            'NextContinuationToken',
            escaped(r, pick(r, ['1Xy/+=', 'a%2B+b', 't&k'])),
          ),
        ]
      : []),
    ...(url ? [element(r, 'EncodingType', 'url')] : []),
    ...(r() < 0.3
      ? [`<CommonPrefixes><Prefix>d/</Prefix></CommonPrefixes>`]
      : []),
    ...Array.from({ length: count }, () => randomEntry(r, url)),
  ];
  const root =
    r() < 0.7
      ? '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
      : '<ListBucketResult>';
  const declaration =
    r() < 0.7 ? `<?xml version="1.0" encoding="UTF-8"?>${gap(r)}` : '';
  return `${declaration}${root}${parts.map(p => `${gap(r)}${p}`).join('')}${gap(r)}</ListBucketResult>${gap(r)}`;
}

/** The page damaged in one place, as a broken or hostile server might send it. */
function damaged(r: () => number, xml: string): string {
  const tags = [...xml.matchAll(/<[^>]*>/g)];
  const at = pick(r, tags);
  const i = at.index;
  const end = i + at[0].length;
  switch (Math.floor(r() * 9)) {
    case 0: // a tag dropped
      return xml.slice(0, i) + xml.slice(end);
    case 1: // a tag doubled
      return xml.slice(0, end) + at[0] + xml.slice(end);
    case 2: // a tag renamed
      return `${xml.slice(0, i)}${at[0].replace(/[A-Za-z]+/, 'Key')}${xml.slice(end)}`;
    case 3: // a comment
      return `${xml.slice(0, i)}<!--${at[0]}-->${xml.slice(i)}`;
    case 4: // CDATA
      return `${xml.slice(0, end)}<![CDATA[x]]>${xml.slice(end)}`;
    case 5: // text beside elements
      return `${xml.slice(0, i)}junk${xml.slice(i)}`;
    case 6: // cut short
      return xml.slice(0, i + Math.floor(r() * (xml.length - i)));
    case 7: // an attribute
      return `${xml.slice(0, end - 1)} a="1"${xml.slice(end - 1)}`;
    default: // a field moved out of its Contents
      return xml
        .replace('</Contents>', '')
        .replace('</ListBucketResult>', '</Contents></ListBucketResult>');
  }
}

describe('parseListObjectsV2 against a general XML reader', () => {
  it('reads generated pages S3 would send as the general reader does', () => {
    const r = rng(20261207);
    for (let n = 0; n < 2000; n++) {
      const xml = randomPage(r);
      expect({ xml, page: parseListObjectsV2(xml, 1000) }).toEqual({
        xml,
        page: readByTree(xml),
      });
    }
  });

  it('refuses damaged pages the general reader refuses, and reads the rest alike', () => {
    const r = rng(7);
    let refusedByBoth = 0;
    const wrong: unknown[] = [];
    for (let n = 0; n < 3000; n++) {
      const xml = damaged(r, randomPage(r));
      let ours: ListObjectsV2Page | Error;
      try {
        ours = parseListObjectsV2(xml, 1000);
      } catch (error) {
        ours = error as Error;
      }
      let tree: ListObjectsV2Page | undefined;
      try {
        tree = readByTree(xml);
      } catch {
        tree = undefined;
      }
      if (!(ours instanceof Error)) {
        if (!isDeepStrictEqual(ours, tree)) wrong.push({ xml, ours, tree });
      } else if ((ours as { code?: string }).code !== 'SERVER_ERROR')
        wrong.push({ xml, error: ours });
      else if (tree === undefined) refusedByBoth++;
    }
    expect(wrong).toEqual([]);
    // the damage is real: the general reader refuses many of these pages too
    expect(refusedByBoth).toBeGreaterThan(300);
  });
});
