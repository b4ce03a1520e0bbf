import * as net from 'node:net';
import { LinkClock, startLinkProxy } from './link';

describe('LinkClock', () => {
  it('delays by the one-way time, serialises at the rate, and waits for notBefore', () => {
    // 10 ms one way, 1000 bytes per ms, link free from t=100 (the handshake)
    const c = new LinkClock(10, 1000, 100);
    expect(c.deliver(0, 1000)).toBe(100 + 1 + 10);
    // the next chunk queues behind the first on the link
    expect(c.deliver(50, 2000)).toBe(101 + 2 + 10);
    // an idle link sends at once
    expect(c.deliver(500, 1000)).toBe(500 + 1 + 10);
  });
});

describe('startLinkProxy', () => {
  it('adds the round trip to each request/response turn and passes bytes intact', async () => {
    const echo = net.createServer(s => s.pipe(s));
    await new Promise<void>(r => echo.listen(0, '127.0.0.1', r));
    const proxy = await startLinkProxy(
      (echo.address() as net.AddressInfo).port,
      { rttMs: 60, bytesPerSecond: 1e9 },
    );
    try {
      const sock = net.connect({ port: proxy.port, host: '127.0.0.1' });
      await new Promise<void>(r => sock.once('connect', () => r()));
      const turn = async (msg: string) => {
        const t0 = performance.now();
        sock.write(msg);
        let got = '';
        await new Promise<void>(r => {
          const on = (d: Buffer) => {
            got += d.toString();
            if (got.length >= msg.length) {
              sock.off('data', on);
              r();
            }
          };
          sock.on('data', on);
        });
        return { ms: performance.now() - t0, got };
      };
      // first turn: handshake round trip plus the turn's (upper bounds are left to LinkClock's
      // test: on a loaded machine timers fire late)
      const first = await turn('hello');
      expect(first.got).toBe('hello');
      expect(first.ms).toBeGreaterThanOrEqual(115);
      const second = await turn('again');
      expect(second.got).toBe('again');
      expect(second.ms).toBeGreaterThanOrEqual(58);
      sock.destroy();
      expect(proxy.connections()).toBe(1);
    } finally {
      await proxy.stop();
      await new Promise(r => echo.close(r));
    }
  });

  it('caps the rate of one connection', async () => {
    const bytes = 2_000_000;
    const source = net.createServer(s => s.end(Buffer.alloc(bytes)));
    await new Promise<void>(r => source.listen(0, '127.0.0.1', r));
    const proxy = await startLinkProxy(
      (source.address() as net.AddressInfo).port,
      { rttMs: 2, bytesPerSecond: 10e6 },
    );
    try {
      const t0 = performance.now();
      let got = 0;
      await new Promise<void>((resolve, reject) => {
        const sock = net.connect({ port: proxy.port, host: '127.0.0.1' });
        sock.on('data', d => (got += d.length));
        sock.on('end', () => resolve());
        sock.on('error', reject);
      });
      const ms = performance.now() - t0;
      expect(got).toBe(bytes);
      // 2 MB at 10 MB/s: at least 200 ms
      expect(ms).toBeGreaterThanOrEqual(195);
    } finally {
      await proxy.stop();
      await new Promise(r => source.close(r));
    }
  });
});
