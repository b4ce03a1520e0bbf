import * as http from 'node:http';
import * as net from 'node:net';
import { requestKind, startCountingProxy } from './count-proxy';

describe('requestKind', () => {
  it('tells LISTs (GET on the bucket) from object GETs and the rest', () => {
    expect(requestKind('GET', '/bench?list-type=2&prefix=m%2F', 'bench')).toBe(
      'list',
    );
    expect(requestKind('GET', '/bench/?list-type=2', 'bench')).toBe('list');
    expect(requestKind('GET', '/bench/m/d0000/f0000001', 'bench')).toBe('get');
    expect(requestKind('HEAD', '/bench/m/f', 'bench')).toBe('other');
    expect(requestKind('GET', '/benchmark?list-type=2', 'bench')).toBe('other');
  });
});

describe('startCountingProxy', () => {
  it('passes requests through unchanged (Host included) and counts them', async () => {
    const seen: string[] = [];
    const upstream = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.host}`);
      res.end(`body of ${req.url}`);
    });
    await new Promise<void>(r => upstream.listen(0, '127.0.0.1', r));
    const proxy = await startCountingProxy(
      (upstream.address() as net.AddressInfo).port,
      'bench',
    );
    try {
      const get = (p: string) =>
        new Promise<string>((resolve, reject) => {
          http
            .get(
              `${proxy.endpoint}${p}`,
              { headers: { host: 's3.example:9000' } },
              res => {
                let b = '';
                res.on('data', d => (b += d));
                res.on('end', () => resolve(b));
              },
            )
            .on('error', reject);
        });
      expect(await get('/bench?list-type=2')).toBe(
        'body of /bench?list-type=2',
      );
      expect(await get('/bench/m/a')).toBe('body of /bench/m/a');
      expect(await get('/bench/m/b')).toBe('body of /bench/m/b');
      expect(proxy.counts).toEqual({ list: 1, get: 2, other: 0 });
      expect(seen[0]).toBe('GET /bench?list-type=2 s3.example:9000');
      proxy.reset();
      expect(proxy.counts).toEqual({ list: 0, get: 0, other: 0 });
    } finally {
      await proxy.stop();
      await new Promise(r => upstream.close(r));
    }
  });
});
