import { SigV4Signer, uriEncode } from './sigv4';

describe('SigV4Signer', () => {
  it('reproduces the GET Object example of the S3 API reference', () => {
    // "Signature Calculations for the Authorization Header: Example GET Object" (sigv4-header-based-auth).
    const headers = new SigV4Signer('us-east-1').sign(
      {
        method: 'GET',
        host: 'examplebucket.s3.amazonaws.com',
        path: '/test.txt',
        headers: { Range: 'bytes=0-9' },
      },
      {
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      },
      new Date('2013-05-24T00:00:00Z'),
    );
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
  });

  it('encodes keys as S3 wants them', () => {
    expect(uriEncode("a b/c%d(e)!*'ü", true)).toBe(
      'a%20b/c%25d%28e%29%21%2A%27%C3%BC',
    );
    expect(uriEncode('a/b')).toBe('a%2Fb');
  });
});
