import { noProxyMatches, proxyAuthorization, proxyFor } from './proxy';

describe('noProxyMatches', () => {
  it.each([
    ['s3.example.com', 443, '*', true],
    ['s3.example.com', 443, 'example.com', true],
    ['s3.example.com', 443, '.example.com', true],
    ['example.com', 443, '.example.com', true],
    ['s3.example.com', 443, '*.example.com', true],
    ['s3.example.community', 443, 'example.com', false],
    ['s3.example.com', 443, 'example.com:9000', false],
    ['s3.example.com', 9000, 'example.com:9000', true],
    ['10.1.2.3', 80, 'localhost, 10.1.2.3', true],
    ['::1', 80, '[::1]', true],
    ['minio.svc', 80, '', false],
  ] as const)('%s:%d with NO_PROXY=%j -> %s', (host, port, noProxy, want) => {
    expect(noProxyMatches(host, port, noProxy)).toBe(want);
  });
});

describe('proxyFor', () => {
  const https = {
    protocol: 'https:' as const,
    hostname: 's3.example.com',
    port: 443,
  };
  it('takes the variable of the scheme, upper or lower case, unless NO_PROXY says no', () => {
    expect(proxyFor(https, { HTTPS_PROXY: 'http://p:3128' })?.host).toBe(
      'p:3128',
    );
    expect(proxyFor(https, { https_proxy: 'p:3128' })?.host).toBe('p:3128');
    expect(proxyFor(https, { HTTP_PROXY: 'http://p:3128' })).toBeUndefined();
    expect(
      proxyFor(https, {
        HTTPS_PROXY: 'http://p:3128',
        NO_PROXY: '.example.com',
      }),
    ).toBeUndefined();
    expect(() => proxyFor(https, { HTTPS_PROXY: 'https://p:3129' })).toThrow(
      /only http:\/\/ proxies/,
    );
  });

  it('turns credentials in the URL into Basic proxy authorization', () => {
    expect(proxyAuthorization(new URL('http://a%40b:p%3Ass@p:1'))).toBe(
      `Basic ${Buffer.from('a@b:p:ss').toString('base64')}`,
    );
    expect(proxyAuthorization(new URL('http://p:1'))).toBeUndefined();
  });
});
