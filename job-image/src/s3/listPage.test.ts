import { parseListObjectsV2, unescapeXml } from './listPage';

const page = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${body}</ListBucketResult>`;

const contents = (fields: string) => `<Contents>${fields}</Contents>`;

describe('parseListObjectsV2', () => {
  it('reads what the job uses from each object, and where the listing goes on', () => {
    const xml = page(
      `<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>${contents(
        '<Key>p/a &amp; b &lt;1&gt;.txt</Key><LastModified>2026-12-06T06:38:50.123Z</LastModified>' +
          '<ETag>&quot;9e107d9d372bb6826bd81d3542a419d6&quot;</ETag><ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm>' +
          '<ChecksumType>FULL_OBJECT</ChecksumType><Size>4096</Size>' +
          '<Owner><ID>o</ID><DisplayName>d</DisplayName></Owner><StorageClass>GLACIER</StorageClass>',
      )}${contents(
        '<Key>p/caf\u00e9 &#x1F600; &#13;</Key><LastModified>2026-12-06T06:38:51Z</LastModified><Size>0</Size>',
      )}<NextContinuationToken>1Xy/+=</NextContinuationToken>`,
    );
    expect(parseListObjectsV2(xml)).toEqual({
      contents: [
        {
          key: 'p/a & b <1>.txt',
          size: 4096,
          etag: '"9e107d9d372bb6826bd81d3542a419d6"',
          lastModified: new Date('2026-12-06T06:38:50.123Z'),
          storageClass: 'GLACIER',
        },
        {
          key: 'p/caf\u00e9 \u{1F600} \r',
          size: 0,
          etag: undefined,
          lastModified: new Date('2026-12-06T06:38:51Z'),
          storageClass: undefined,
        },
      ],
      isTruncated: true,
      nextContinuationToken: '1Xy/+=',
    });
  });

  it('keeps white space in keys and takes the next field from its own object only', () => {
    const xml = page(
      `<IsTruncated>false</IsTruncated>\n  ${contents('\n    <Key> spaced  key </Key>\n    <Size>1</Size>\n  ')}\n  ${contents('<Key>k2</Key><Size>2</Size><StorageClass>STANDARD</StorageClass>')}`,
    );
    const parsed = parseListObjectsV2(xml);
    expect(parsed.contents.map(c => [c.key, c.size, c.storageClass])).toEqual([
      [' spaced  key ', 1, undefined],
      ['k2', 2, 'STANDARD'],
    ]);
    expect(parsed.isTruncated).toBe(false);
    expect(parsed.nextContinuationToken).toBeUndefined();
  });

  it('reads an empty listing and CDATA text', () => {
    expect(
      parseListObjectsV2(
        page('<KeyCount>0</KeyCount><IsTruncated>false</IsTruncated>'),
      ),
    ).toEqual({ contents: [], isTruncated: false });
    expect(
      parseListObjectsV2(
        page(contents('<Key><![CDATA[a<&>b]]></Key><Size>3</Size>')),
      ).contents[0].key,
    ).toBe('a<&>b');
  });

  it('refuses what S3 would not send, naming it', () => {
    expect(() => parseListObjectsV2('<html>proxy login</html>')).toThrow(
      /not a ListBucketResult.*no <ListBucketResult> in "<html>proxy login/,
    );
    expect(() =>
      parseListObjectsV2(page(contents('<Key>k</Key><Size>12a</Size>'))),
    ).toThrow(/the Size of "k" is "12a", not a byte count/);
    expect(() =>
      parseListObjectsV2(
        page(contents('<Key>k</Key><LastModified>yesterday</LastModified>')),
      ),
    ).toThrow(/the LastModified of "k" is "yesterday", not a time/);
    expect(() => parseListObjectsV2(page('<Contents><Key>k</Key>'))).toThrow(
      /<Contents> is not closed/,
    );
    expect(() =>
      parseListObjectsV2(
        page(`<IsTruncated>true</IsTruncated>${contents('<Key>k</Key>')}`),
      ),
    ).toThrow(/truncated but has no NextContinuationToken/);
    expect(() =>
      parseListObjectsV2(page('<IsTruncated>yes</IsTruncated>')),
    ).toThrow(/IsTruncated is "yes"/);
    expect(() =>
      parseListObjectsV2(page(contents('<Key><b>k</b></Key>'))),
    ).toThrow(/<Key> holds markup/);
    for (const bad of ['a & b', '&nbsp;', '&#xFFFFFFF;'])
      expect(() =>
        parseListObjectsV2(page(contents(`<Key>${bad}</Key>`))),
      ).toThrow(/bare "&"|unknown entity/);
    let caught: unknown;
    try {
      parseListObjectsV2('nope');
    } catch (error) {
      caught = error;
    }
    expect((caught as { code?: string }).code).toBe('SERVER_ERROR');
    expect.assertions(11);
  });
});

describe('unescapeXml', () => {
  it('decodes the five entities and character references, once', () => {
    expect(unescapeXml('&amp;lt; &lt;&gt;&quot;&apos; &#65;&#x42;')).toBe(
      `&lt; <>"' AB`,
    );
    expect(unescapeXml('plain')).toBe('plain');
  });
});
