/**
 * Core's S3 client through HTTP_PROXY: a loopback server that is both the proxy and, behind it, the
 * S3 endpoint (it answers ListObjectsV2 itself). The endpoint names 127.0.0.2:9, where nothing
 * listens: only a request that went through the proxy can succeed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseRestoreRequest } from '@kube-restore/common';
import { createS3Client, sizeSource } from './s3';

const LISTING = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>datasets</Name><Prefix>team-a/</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>team-a/a.bin</Key><Size>5000</Size><ETag>"0123456789abcdef0123456789abcdef"</ETag><ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>`;

let server: http.Server;
let proxyUrl: string;
const seen: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/xml' });
    res.end(LISTING);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>(resolve => server.close(() => resolve())));
afterEach(() => {
  seen.length = 0;
});

const source = parseRestoreRequest({
  source: {
    bucket: 'datasets',
    prefix: 'team-a/',
    endpoint: 'http://127.0.0.2:9',
    pathStyle: true,
  },
  target: { namespace: 'team-a', pvc: 'data', size: '1Gi' },
}).source;
const keys = { accessKeyId: 'AKEXAMPLE', secretAccessKey: 'secret' };

it('sizes a source through HTTP_PROXY and says how it will be verified', async () => {
  const client = createS3Client(source, keys, { HTTP_PROXY: proxyUrl });
  try {
    const size = await sizeSource(source, { client });
    expect(size).toMatchObject({
      objects: 1,
      bytes: 5000,
      verification: { CRC64NVME: 1 },
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(
      /^GET http:\/\/127\.0\.0\.2:9\/datasets\/\?list-type=2&max-keys=1000&prefix=team-a%2F$/,
    );
  } finally {
    client.destroy();
  }
});

it('goes direct when NO_PROXY names the endpoint (and fails: nothing listens there)', async () => {
  const client = createS3Client(source, keys, {
    HTTP_PROXY: proxyUrl,
    NO_PROXY: '127.0.0.2',
  });
  try {
    const error = await sizeSource(source, { client }).catch(e => e);
    // (under jest the SDK wraps the socket error: its message says which)
    expect(String(error.cause?.message)).toMatch(/ECONNREFUSED 127\.0\.0\.2:9/);
    expect(seen).toEqual([]);
  } finally {
    client.destroy();
  }
});
