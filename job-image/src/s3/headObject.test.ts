/**
 * S3Access.headObject against a real HTTP server on loopback that answers as S3 does (and as it
 * should not): headers parsed and checked, a HEAD's bodiless errors classified as the SDK's were,
 * a prefetched HEAD taken once.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { classifyError, isExpiredCredentials } from '../errors';
import { S3Access } from './access';

type Answer = {
  status: number;
  headers?: Record<string, string>;
  body?: string;
};

let server: http.Server;
let endpoint: string;
const seen: Array<{ method: string; url: string; range?: string }> = [];
let answer: (url: string, method: string) => Answer;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({
      method: req.method!,
      url: req.url!,
      ...(req.headers.range ? { range: req.headers.range } : {}),
    });
    const a = answer(req.url!, req.method!);
    res.writeHead(a.status, {
      ...a.headers,
      ...(a.body ? { 'content-length': String(a.body.length) } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : a.body);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise(resolve => server.close(resolve));
});

let s3: S3Access;
beforeEach(() => {
  seen.length = 0;
  s3 = new S3Access({
    source: {
      bucket: 'b',
      endpoint,
      pathStyle: true,
    } as ConstructorParameters<typeof S3Access>[0]['source'],
    maxSockets: 4,
    env: {},
    anonymous: true,
  });
});
afterEach(() => s3.destroy());

it('HEADs the object and reads its headers', async () => {
  answer = () => ({
    status: 200,
    headers: {
      'content-length': '1234',
      etag: '"abc"',
      'last-modified': 'Wed, 21 Oct 2026 07:28:00 GMT',
      'x-amz-storage-class': 'DEEP_ARCHIVE',
      'x-amz-restore':
        'ongoing-request="false", expiry-date="Fri, 23 Oct 2026 00:00:00 GMT"',
    },
  });
  const head = await s3.headObject({ key: 'dir/a b.tar', versionId: 'v1' });
  expect(head).toMatchObject({
    key: 'dir/a b.tar',
    size: 1234,
    etag: '"abc"',
    storageClass: 'DEEP_ARCHIVE',
    restore: expect.stringContaining('ongoing-request="false"'),
  });
  expect(seen).toEqual([
    { method: 'HEAD', url: '/b/dir/a%20b.tar?versionId=v1' },
  ]);
});

it('a 200 without a Content-Length is an error naming the key, not a size of 0', async () => {
  answer = () => ({ status: 200, headers: { 'transfer-encoding': 'chunked' } });
  const e = classifyError(
    await s3.headObject({ key: 'x.tar' }).catch(error => error),
  );
  expect(e).toMatchObject({ code: 'SERVER_ERROR', entry: 'x.tar' });
  expect(e.message).toContain(
    '"x.tar": the S3 response\'s HEAD has no Content-Length',
  );
});

it.each([
  [
    404,
    'NO_SUCH_KEY',
    'no object "gone.tar" in bucket "b", or no such bucket (HEAD: HTTP 404)',
  ],
  [403, 'ACCESS_DENIED', 'HEAD of "gone.tar" in bucket "b" refused (HTTP 403)'],
  [503, 'THROTTLED', 'HTTP 503'],
  [500, 'SERVER_ERROR', 'HTTP 500'],
])(
  'a bodiless %i is %s, with a message that names the key where S3 gives none',
  async (status, code, message) => {
    answer = () => ({ status, headers: { 'retry-after': '2' } });
    const error = await s3.headObject({ key: 'gone.tar' }).catch(e => e);
    const e = classifyError(error, 'gone.tar');
    expect(e.code).toBe(code);
    expect(e.message).toContain(message);
    expect(error.retryAfter).toBe('2');
  },
);

const errorBody = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;

it.each([
  [
    400,
    'ExpiredToken',
    'The provided token has expired.',
    'INVALID_CREDENTIALS',
    true,
  ],
  [
    400,
    'AuthorizationHeaderMalformed',
    "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'",
    'INVALID_REQUEST',
    false,
  ],
  [
    301,
    'PermanentRedirect',
    'The bucket you are attempting to access must be addressed using the specified endpoint.',
    'INVALID_REQUEST',
    false,
  ],
])(
  "a bodiless %i is read from a one-byte GET's error body: %s",
  async (status, s3Code, message, code, expired) => {
    answer = (_url, method) => ({
      status,
      body: method === 'GET' ? errorBody(s3Code, message) : undefined,
      headers: { 'content-type': 'application/xml' },
    });
    const error = await s3
      .headObject({ key: 'k.tar', versionId: 'v1' })
      .catch(e => e);
    expect(error).toMatchObject({ Code: s3Code });
    expect(isExpiredCredentials(error)).toBe(expired);
    const e = classifyError(error, 'k.tar');
    expect(e.code).toBe(code);
    expect(e.message).toContain(message);
    // the same object and version, one byte of it
    expect(seen).toEqual([
      { method: 'HEAD', url: '/b/k.tar?versionId=v1' },
      { method: 'GET', url: '/b/k.tar?versionId=v1', range: 'bytes=0-0' },
    ]);
  },
);

it("a bodiless 400 whose GET is not refused keeps the HEAD's status", async () => {
  answer = (_url, method) =>
    method === 'HEAD' ? { status: 400 } : { status: 206, body: 'x' };
  const error = await s3.headObject({ key: 'k.tar' }).catch(e => e);
  expect(error).toMatchObject({ Code: 'HTTP400' });
  expect(seen.map(r => r.method)).toEqual(['HEAD', 'GET']);
  // the connection is still good: the next HEAD needs no new one
  answer = () => ({ status: 200, headers: { 'content-length': '3' } });
  expect(await s3.headObject({ key: 'k.tar' })).toMatchObject({ size: 3 });
});

it("a GET refused otherwise than the HEAD (another status) leaves the HEAD's error", async () => {
  answer = (_url, method) =>
    method === 'HEAD'
      ? { status: 400 }
      : { status: 412, body: errorBody('PreconditionFailed', 'If-Match') };
  const error = await s3.headObject({ key: 'k.tar' }).catch(e => e);
  expect(error).toMatchObject({ Code: 'HTTP400' });
  expect(seen.map(r => r.method)).toEqual(['HEAD', 'GET']);
});

it("a part's HEAD (partNumber) is not asked again as a GET: S3 refuses Range with partNumber", async () => {
  answer = () => ({ status: 400 });
  const error = await s3
    .request('HEAD', { key: 'k.bin', partNumber: 2 })
    .catch(e => e);
  expect(error).toMatchObject({ Code: 'HTTP400' });
  expect(seen).toEqual([{ method: 'HEAD', url: '/b/k.bin?partNumber=2' }]);
});

it('a prefetched HEAD is taken once by the same request; another request sends its own', async () => {
  let n = 0;
  answer = () => ({ status: 200, headers: { 'content-length': String(++n) } });
  s3.prefetchHeadObject({ key: 'a.tar' });
  await new Promise(resolve => setTimeout(resolve, 50));
  expect(seen).toHaveLength(1);
  expect(await s3.headObject({ key: 'a.tar' })).toMatchObject({ size: 1 });
  expect(seen).toHaveLength(1);
  // taken: the next one is sent
  expect(await s3.headObject({ key: 'a.tar' })).toMatchObject({ size: 2 });
  expect(seen).toHaveLength(2);

  s3.prefetchHeadObject({ key: 'a.tar' });
  expect(await s3.headObject({ key: 'a.tar', versionId: 'v' })).toMatchObject({
    size: 4,
  });
  // the early one was dropped, not kept for later
  expect(await s3.headObject({ key: 'a.tar' })).toMatchObject({ size: 5 });
  expect(seen).toHaveLength(5);
});

it('a prefetched HEAD that failed fails its taker once; the retry sends a new one', async () => {
  let n = 0;
  answer = () =>
    ++n === 1
      ? { status: 500 }
      : { status: 200, headers: { 'content-length': '7' } };
  s3.prefetchHeadObject({ key: 'a.tar' });
  await new Promise(resolve => setTimeout(resolve, 50));
  await expect(s3.headObject({ key: 'a.tar' })).rejects.toMatchObject({
    name: 'InternalError',
  });
  expect(await s3.headObject({ key: 'a.tar' })).toMatchObject({ size: 7 });
  expect(seen).toHaveLength(2);
});
