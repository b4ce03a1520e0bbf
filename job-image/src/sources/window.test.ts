import { Pipeline, TransferWindow } from './window';

const tick = () => new Promise(resolve => setImmediate(resolve));

describe('TransferWindow', () => {
  it('gives the largest waiting item first and makes a full window wait', async () => {
    const w = new TransferWindow<{ size: number }>(3);
    await w.put({ size: 5 });
    await w.put({ size: 50 });
    await w.put({ size: 1 });
    let fourth = false;
    const putting = w.put({ size: 7 }).then(() => (fourth = true));
    await tick();
    expect(fourth).toBe(false);
    expect((await w.take())?.size).toBe(50);
    await putting;
    expect(fourth).toBe(true);
    w.end();
    const rest: number[] = [];
    for (let item = await w.take(); item; item = await w.take())
      rest.push(item.size);
    expect(rest).toEqual([7, 5, 1]);
  });

  it('keeps the order items were put in among equal sizes', async () => {
    const w = new TransferWindow<{ size: number; n: number }>(100);
    for (let n = 0; n < 40; n++) await w.put({ size: n % 3 === 0 ? 9 : 4, n });
    w.end();
    const order: number[] = [];
    for (let item = await w.take(); item; item = await w.take())
      order.push(item.n);
    const nines = order.slice(0, 14);
    expect(nines).toEqual([...nines].sort((a, b) => a - b));
    expect(nines.every(n => n % 3 === 0)).toBe(true);
    const fours = order.slice(14);
    expect(fours).toEqual([...fours].sort((a, b) => a - b));
  });
});

describe('Pipeline', () => {
  it('holds at most the window while a long stream passes through slow workers', async () => {
    const p = new Pipeline<{ size: number }>(new AbortController().signal, 50);
    let produced = 0;
    let maxWaiting = 0;
    p.start(async put => {
      for (let i = 0; i < 20_000; i++) {
        if (!(await put({ size: i % 97 }))) return;
        produced++;
        maxWaiting = Math.max(maxWaiting, p.window.waiting);
      }
    });
    let done = 0;
    await p.run(4, async () => {
      if (++done % 100 === 0) await tick();
    });
    expect(produced).toBe(20_000);
    expect(done).toBe(20_000);
    expect(maxWaiting).toBeLessThanOrEqual(50);
  });

  it('stops the producer and the other workers on the first failure, and throws it', async () => {
    const p = new Pipeline<{ size: number }>(new AbortController().signal, 10);
    let produced = 0;
    p.start(async put => {
      for (let i = 0; i < 1_000_000; i++) {
        if (!(await put({ size: 1 }))) return;
        produced++;
      }
    });
    let seen = 0;
    await expect(
      p.run(3, async () => {
        if (++seen === 25) throw new Error('boom');
        await tick();
      }),
    ).rejects.toThrow('boom');
    expect(produced).toBeLessThan(100);
  });

  it('reports a failing producer (after its items were handed out)', async () => {
    const p = new Pipeline<{ size: number }>(new AbortController().signal, 10);
    p.start(async put => {
      await put({ size: 1 });
      throw new Error('listing failed');
    });
    await expect(p.run(2, async () => undefined)).rejects.toThrow(
      'listing failed',
    );
  });

  it('is CANCELLED when the outer signal aborts', async () => {
    const outer = new AbortController();
    const p = new Pipeline<{ size: number }>(outer.signal, 10);
    p.start(async put => {
      for (;;) if (!(await put({ size: 1 }))) return;
    });
    let seen = 0;
    await expect(
      p.run(2, async () => {
        if (++seen === 5) outer.abort();
        await tick();
      }),
    ).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
