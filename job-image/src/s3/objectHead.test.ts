import { classifyError } from '../errors';
import {
  contentLengthOf,
  lastModifiedOf,
  parseObjectHead,
  plannedStorageClass,
} from './objectHead';

const KEY = 'data/archive.tar.gz';

describe('parseObjectHead', () => {
  it("reads what S3's HEAD says", () => {
    const head = parseObjectHead(KEY, {
      'content-length': '139586437',
      etag: '"9b2cf535f27731c974343645a3985328"',
      'last-modified': 'Wed, 21 Oct 2026 07:28:00 GMT',
      'x-amz-storage-class': 'GLACIER',
      'x-amz-restore': 'ongoing-request="true"',
      'x-amz-version-id': '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY',
    });
    expect(head).toEqual({
      key: KEY,
      size: 139586437,
      etag: '"9b2cf535f27731c974343645a3985328"',
      lastModified: new Date('2026-10-21T07:28:00Z'),
      storageClass: 'GLACIER',
      archiveStatus: undefined,
      restore: 'ongoing-request="true"',
      versionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY',
    });
  });

  it('an empty object, a STANDARD one without a class, an unversioned one ("null")', () => {
    expect(
      parseObjectHead(KEY, {
        'content-length': '0',
        'x-amz-version-id': 'null',
      }),
    ).toEqual({ key: KEY, size: 0 });
  });

  it.each([
    ['missing', {}, 'HEAD has no Content-Length'],
    [
      'empty',
      { 'content-length': '' },
      'Content-Length "" is not a byte count',
    ],
    ['negative', { 'content-length': '-1' }, 'Content-Length "-1"'],
    ['a fraction', { 'content-length': '1.5' }, 'Content-Length "1.5"'],
    ['hex', { 'content-length': '0x10' }, 'Content-Length "0x10"'],
    ['an exponent', { 'content-length': '1e3' }, 'Content-Length "1e3"'],
    ['duplicated (joined)', { 'content-length': '5, 5' }, '"5, 5"'],
    [
      'beyond a safe integer',
      { 'content-length': '9007199254740993' },
      '"9007199254740993"',
    ],
    ['too long', { 'content-length': '1'.repeat(100) }, '..."'],
  ])(
    'a Content-Length %s is a SERVER_ERROR naming the key, not 0',
    (_, headers, what) => {
      let thrown: unknown;
      try {
        parseObjectHead(KEY, headers as Record<string, string>);
      } catch (error) {
        thrown = error;
      }
      const e = classifyError(thrown);
      expect(e.code).toBe('SERVER_ERROR');
      expect(e.entry).toBe(KEY);
      expect(e.message).toContain(`"${KEY}"`);
      expect(e.message).toContain(what);
    },
  );

  it.each([
    ['x-amz-storage-class', 'GLACIER\u0000'],
    ['x-amz-storage-class', 'GLACIER, STANDARD'],
    ['x-amz-archive-status', 'A'.repeat(65)],
  ])('a malformed %s (%j) is refused, naming the key', (name, value) => {
    expect(() =>
      parseObjectHead(KEY, { 'content-length': '1', [name]: value }),
    ).toThrow(
      new RegExp(`"${KEY}": the S3 response's ${name} .* is malformed`),
    );
  });

  it('a Last-Modified that is not a date is left out (the listing has one)', () => {
    const headers = { 'content-length': '1', 'last-modified': 'yesterday' };
    expect(parseObjectHead(KEY, headers).lastModified).toBeUndefined();
    expect(lastModifiedOf(headers)).toBeUndefined();
    expect(lastModifiedOf({})).toBeUndefined();
  });

  it('an Intelligent-Tiering archive tier plans as INTELLIGENT_TIERING', () => {
    const head = parseObjectHead(KEY, {
      'content-length': '1',
      'x-amz-archive-status': 'DEEP_ARCHIVE_ACCESS',
    });
    expect(head.archiveStatus).toBe('DEEP_ARCHIVE_ACCESS');
    expect(plannedStorageClass(head)).toBe('INTELLIGENT_TIERING');
    expect(plannedStorageClass({ ...head, storageClass: 'GLACIER' })).toBe(
      'GLACIER',
    );
    expect(plannedStorageClass({ key: KEY, size: 1 })).toBeUndefined();
  });
});

describe('contentLengthOf', () => {
  it("undefined without one (a GET falls back to the listing's size), else the count", () => {
    expect(contentLengthOf({}, KEY)).toBeUndefined();
    expect(contentLengthOf({ 'content-length': '0042' }, KEY)).toBe(42);
    expect(() => contentLengthOf({ 'content-length': 'NaN' }, KEY)).toThrow(
      `"${KEY}": the S3 response's Content-Length "NaN" is not a byte count`,
    );
  });

  it('reads an empty class or archive status as none, and a malformed version id as none', () => {
    const head = parseObjectHead(KEY, {
      'content-length': '1',
      'x-amz-storage-class': '',
      'x-amz-archive-status': '',
      'x-amz-version-id': 'has space',
    });
    expect(head.storageClass).toBeUndefined();
    expect(head.archiveStatus).toBeUndefined();
    expect(head.versionId).toBeUndefined();
    expect(
      parseObjectHead(KEY, {
        'content-length': '1',
        'x-amz-version-id': 'v'.repeat(1025),
      }).versionId,
    ).toBeUndefined();
  });
});
