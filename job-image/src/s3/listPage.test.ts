import { ListPageS3Error, parseListObjectsV2 } from './listPage';

const ROOT =
  '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">';
const page = (body: string) => `${ROOT}${body}</ListBucketResult>`;
const done = (body: string) =>
  page(`<Name>b</Name><IsTruncated>false</IsTruncated>${body}`);
const contents = (fields: string) => `<Contents>${fields}</Contents>`;
const entry = (key: string) => contents(`<Key>${key}</Key><Size>1</Size>`);
const parse = (xml: string, maxKeys = 1000) => parseListObjectsV2(xml, maxKeys);
const keysOf = (xml: string) => parse(xml).contents.map(c => c.key);
/** The SERVER_ERROR a page is refused with. */
const refusal = (xml: string, maxKeys = 1000): Error => {
  try {
    parse(xml, maxKeys);
  } catch (error) {
    expect(error).toMatchObject({ code: 'SERVER_ERROR' });
    return error as Error;
  }
  throw new Error(`accepted: ${xml}`);
};

describe('parseListObjectsV2', () => {
  it('reads what the job uses from each object, and where the listing goes on', () => {
    const xml = page(
      `<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>${contents(
        '<Key>p/a &amp; b &lt;1&gt;.txt</Key><LastModified>2026-12-06T06:38:50.123Z</LastModified>' +
          '<ETag>&quot;9e107d9d372bb6826bd81d3542a419d6&quot;</ETag><ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm>' +
          '<ChecksumType>FULL_OBJECT</ChecksumType><Size>4096</Size>' +
          '<Owner><ID>o</ID><DisplayName>d</DisplayName></Owner><StorageClass>GLACIER</StorageClass>',
      )}${contents(
        '<Key>p/caf\u00e9 \u{1F600} &#13;</Key><LastModified>2026-12-06T06:38:51Z</LastModified><Size>0</Size>',
      )}<NextContinuationToken>1Xy/+=</NextContinuationToken>`,
    );
    expect(parse(xml, 2)).toEqual({
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

  it('reads an empty listing and keeps white space in keys', () => {
    expect(parse(done('<KeyCount>0</KeyCount>'))).toEqual({
      contents: [],
      isTruncated: false,
      nextContinuationToken: undefined,
    });
    expect(keysOf(done(`${entry('  a  ')}${entry('b\tc')}`))).toEqual([
      '  a  ',
      'b\tc',
    ]);
  });

  it('decodes url-encoded keys when the page says so, and never the token', () => {
    const keys = [
      'a b',
      'a+b',
      'a%2Bb',
      'x\ry',
      'q\u0001',
      'caf\u00e9/\u{1F600}',
    ];
    // As S3 encodes them: application/x-www-form-urlencoded, a space as '+'.
    const encoded = keys.map(k => encodeURIComponent(k).replace(/%20/g, '+'));
    expect(encoded.slice(0, 4)).toEqual(['a+b', 'a%2Bb', 'a%252Bb', 'x%0Dy']);
    const xml = page(
      `<IsTruncated>true</IsTruncated><EncodingType>url</EncodingType><KeyCount>${keys.length}</KeyCount>` +
        `${encoded.map(entry).join('')}<NextContinuationToken>a%2B+b</NextContinuationToken>`,
    );
    expect(parse(xml)).toMatchObject({
      contents: keys.map(key => ({ key })),
      nextContinuationToken: 'a%2B+b',
    });
    // %20 as well as '+' is a space
    expect(
      keysOf(done(`<EncodingType>url</EncodingType>${entry('a%20b')}`)),
    ).toEqual(['a b']);
    // CR LF between tags is white space, not a key's
    expect(
      keysOf(
        `${ROOT}\r\n<IsTruncated>false</IsTruncated>\r\n${entry('k')}\r\n</ListBucketResult>\r\n`,
      ),
    ).toEqual(['k']);
    // without the echo, keys are taken as XML text
    expect(keysOf(done(entry('a+b%2B')))).toEqual(['a+b%2B']);
    // as versitygw answers: an empty EncodingType, key fields in its order
    expect(
      parse(
        page(
          '<Name>bkt</Name><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents>' +
            '<LastModified>2026-12-06T08:03:42Z</LastModified><ChecksumAlgorithm></ChecksumAlgorithm><ChecksumType></ChecksumType>' +
            '<ETag></ETag><Key>with space+plus.txt</Key><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents><EncodingType></EncodingType>',
        ),
      ).contents,
    ).toEqual([
      {
        key: 'with space+plus.txt',
        size: 1,
        etag: '',
        lastModified: new Date('2026-12-06T08:03:42Z'),
        storageClass: 'STANDARD',
      },
    ]);
    for (const bad of ['a%', 'a%2', 'a%zz', '%C3', '%ED%A0%80'])
      expect(
        refusal(done(`<EncodingType>url</EncodingType>${entry(bad)}`)).message,
      ).toMatch(/does not decode/);
    expect(
      refusal(done(`<EncodingType>base64</EncodingType>${entry('a')}`)).message,
    ).toMatch(/EncodingType is "base64"/);
  });

  it('refuses a page cut short at every point', () => {
    const xml = page(
      `<Name>b</Name><Prefix></Prefix><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>${entry('a')}${entry('b')}${entry('c')}`,
    );
    expect(keysOf(xml)).toEqual(['a', 'b', 'c']);
    for (let cut = 0; cut < xml.length; cut++) {
      // trailing white space aside, nothing shorter than the whole document is a page
      if (xml.slice(cut).trim() === '') continue;
      refusal(xml.slice(0, cut));
    }
    expect(
      refusal(xml.slice(0, xml.indexOf('<Contents><Key>b'))).message,
    ).toMatch(/cut short/);
  });

  it.each([
    [
      'an attribute on Contents',
      done('<Contents x="1"><Key>a</Key><Size>1</Size></Contents>'),
    ],
    [
      'a space in a tag',
      done('<Contents><Key >a</Key><Size>1</Size></Contents>'),
    ],
    [
      'a space in IsTruncated',
      page(
        '<IsTruncated >true</IsTruncated><NextContinuationToken>T</NextContinuationToken>',
      ),
    ],
    [
      'a comment',
      done(
        '<Contents><!--<Key>evil</Key>--><Key>real</Key><Size>1</Size></Contents>',
      ),
    ],
    [
      'a comment hiding IsTruncated',
      page(
        '<!--<IsTruncated>false</IsTruncated>--><IsTruncated>true</IsTruncated><NextContinuationToken>T</NextContinuationToken>',
      ),
    ],
    [
      'CDATA',
      done(
        '<Contents><Key><![CDATA[a]]>&amp;<![CDATA[b]]></Key><Size>1</Size></Contents>',
      ),
    ],
    [
      'CDATA holding markup',
      done(
        '<Contents><Key><![CDATA[x</Contents><Contents><Key>y]]></Key><Size>1</Size></Contents>',
      ),
    ],
    ['a processing instruction', done('<?pi x?>')],
    [
      'text beside elements',
      done('<Contents>junk<Key>a</Key><Size>1</Size></Contents>'),
    ],
    ["text beside the root's elements", done(`${entry('a')}junk`)],
    [
      'an element closed by another name',
      done('<Contents><Key>a</Key><Size>1</Size></Content>'),
    ],
    ['a DOCTYPE', `<!DOCTYPE x>${done('')}`],
    [
      'a namespace prefix',
      '<s3:ListBucketResult xmlns:s3="x"><s3:IsTruncated>false</s3:IsTruncated></s3:ListBucketResult>',
    ],
    ['no IsTruncated', page(entry('a'))],
    ['IsTruncated "yes"', page('<IsTruncated>yes</IsTruncated>')],
    [
      'IsTruncated twice',
      page('<IsTruncated>false</IsTruncated><IsTruncated>true</IsTruncated>'),
    ],
    ['truncated without a token', page('<IsTruncated>true</IsTruncated>')],
    [
      'truncated with an empty token',
      page(
        '<IsTruncated>true</IsTruncated><NextContinuationToken></NextContinuationToken>',
      ),
    ],
    ['Contents without Key', done('<Contents><Size>1</Size></Contents>')],
    ['an empty Contents', done('<Contents/>')],
    ['an empty Key', done('<Contents><Key></Key><Size>1</Size></Contents>')],
    ['an empty Key <Key/>', done('<Contents><Key/><Size>1</Size></Contents>')],
    [
      'a Key of markup',
      done('<Contents><Key><b>k</b></Key><Size>1</Size></Contents>'),
    ],
    [
      'two Keys',
      done('<Contents><Key>a</Key><Key>b</Key><Size>1</Size></Contents>'),
    ],
    ['no Size', done('<Contents><Key>a</Key></Contents>')],
    [
      'Size with spaces',
      done('<Contents><Key>a</Key><Size> 12 </Size></Contents>'),
    ],
    [
      'Size 2^53 + 1',
      done('<Contents><Key>a</Key><Size>9007199254740993</Size></Contents>'),
    ],
    ['Size -1', done('<Contents><Key>a</Key><Size>-1</Size></Contents>')],
    ['Size 12a', done('<Contents><Key>a</Key><Size>12a</Size></Contents>')],
    [
      'Size in Arabic digits',
      done('<Contents><Key>a</Key><Size>\u0661\u0662</Size></Contents>'),
    ],
    [
      'LastModified "1"',
      done(
        '<Contents><Key>a</Key><Size>1</Size><LastModified>1</LastModified></Contents>',
      ),
    ],
    [
      'LastModified on 30 February',
      done(
        '<Contents><Key>a</Key><Size>1</Size><LastModified>2026-02-30T00:00:00Z</LastModified></Contents>',
      ),
    ],
    [
      'LastModified without a zone',
      done(
        '<Contents><Key>a</Key><Size>1</Size><LastModified>2026-02-03T00:00:00</LastModified></Contents>',
      ),
    ],
    [
      'KeyCount not the count',
      page(
        `<KeyCount>3</KeyCount><IsTruncated>false</IsTruncated>${entry('a')}`,
      ),
    ],
    ['a lone surrogate reference', done(entry('a&#xD800;'))],
    ['a NUL reference', done(entry('a&#0;b'))],
    ['an astral reference parseXML would cut', done(entry('&#x1F600;'))],
    ['an unknown entity', done(entry('a&nbsp;b'))],
    ['a bare ampersand', done(entry('a & b'))],
    ['a raw CR in a key not url-encoded', done(entry('x\ry'))],
    ['a raw CR LF in a key not url-encoded', done(entry('x\r\ny'))],
    ['a raw control character', done(entry('a\u0000b'))],
    ['a raw lone surrogate', done(entry('a\uD800b'))],
    [
      'an Error document mentioning ListBucketResult',
      '<?xml version="1.0"?><Error><Code>InternalError</Code><Message>&lt;ListBucketResult</Message></Error><ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>',
    ],
    [
      'Contents after the root',
      `${done('')}<Contents><Key>injected</Key><Size>1</Size></Contents>`,
    ],
    ['a second root', `${done('')}${done(entry('x'))}`],
    ['text before the root', `junk${done('')}`],
    ['an HTML page', '<html>proxy login</html>'],
    ['no XML at all', 'nope'],
    ['an empty body', ''],
    ['an empty root', `${ROOT}</ListBucketResult>`],
  ])('refuses %s as SERVER_ERROR', (_, xml) => {
    expect(refusal(xml).message).toMatch(/^the ListObjectsV2 response is not/);
  });

  it('names what is wrong and quotes at most 200 characters', () => {
    const message = refusal(
      done(contents(`<Key>${'k'.repeat(1024)}</Key><Size>x</Size>`)),
    ).message;
    expect(message).toMatch(/Size is "x", not a byte count/);
    expect(message.length).toBeLessThan(600);
    const long = 'k'.repeat(16 * 1024 * 1024);
    const text = refusal(
      done(contents(`<Key>${long}</Key><Size>1</Size>`)),
    ).message;
    expect(text).toMatch(/a text of 16777216 characters/);
    expect(text.length).toBeLessThan(600);
    const junk = refusal(`<html>${long}</html>`).message;
    expect(junk.length).toBeLessThan(600);
    expect(refusal(page('<IsTruncated>maybe</IsTruncated>')).message).toMatch(
      /IsTruncated is "maybe"/,
    );
  });

  it('raises an <Error> document as the S3 error it names', () => {
    let error: unknown;
    try {
      parse(
        '<?xml version="1.0"?>\n<Error><Code>SlowDown</Code><Message>Please reduce</Message><RequestId>r</RequestId></Error>',
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ListPageS3Error);
    expect(error).toMatchObject({
      code: 'SlowDown',
      s3Message: 'Please reduce',
    });
    refusal('<Error><Message>no code</Message></Error>');
  });

  it('refuses more entries than max-keys', () => {
    const xml = done(`${entry('a')}${entry('b')}${entry('c')}`);
    expect(parse(xml, 3).contents).toHaveLength(3);
    expect(refusal(xml, 2).message).toMatch(
      /3 <Contents> entries, more than the 2 asked for/,
    );
  });

  it('reads large pages in linear time', () => {
    let xml = `${ROOT}<Name>b</Name><KeyCount>1000</KeyCount><IsTruncated>false</IsTruncated>`;
    for (let i = 0; i < 1000; i++)
      xml += contents(
        `<Key>data/some/nested/prefix/object-${String(i).padStart(7, '0')}.bin</Key>` +
          '<LastModified>2026-12-06T06:38:50.123Z</LastModified><ETag>&quot;9e10&quot;</ETag><Size>4096</Size>',
      );
    xml += '</ListBucketResult>';
    let start = performance.now();
    const parsed = parse(xml);
    const thousand = performance.now() - start;
    expect(parsed.contents).toHaveLength(1000);
    expect(parsed.contents[999]).toMatchObject({
      key: 'data/some/nested/prefix/object-0000999.bin',
      size: 4096,
      storageClass: undefined,
    });
    const empty = `${ROOT}<IsTruncated>false</IsTruncated>${'<Contents></Contents>'.repeat(20_000)}</ListBucketResult>`;
    start = performance.now();
    expect(refusal(empty, 20_000).message).toMatch(/#1 has no <Key>/);
    const twentyThousand = performance.now() - start;
    // eslint-disable-next-line no-console
    console.log(
      `1,000-key page: ${thousand.toFixed(1)} ms; 20,000 empty <Contents>: ${twentyThousand.toFixed(1)} ms`,
    );
  });
});
