import { Prefetched } from './prefetched';

describe('Prefetched', () => {
  it('is taken once, by the first call of its kind that asks for the same thing', async () => {
    const p = new Prefetched<{ head: number; list: string }>();
    p.put('head', 'a', Promise.resolve(1));
    p.put('list', 'x', Promise.resolve('page'));
    expect(p.take('list', 'y')).toBeUndefined();
    // the first list call asked for another page: the early one is dropped
    expect(p.take('list', 'x')).toBeUndefined();
    await expect(p.take('head', 'a')).resolves.toBe(1);
    expect(p.take('head', 'a')).toBeUndefined();
  });

  it('a failure is seen by the call that takes it, and never unhandled', async () => {
    const p = new Prefetched<{ head: number }>();
    p.put('head', 'a', Promise.reject(new Error('503')));
    await new Promise(resolve => setImmediate(resolve));
    await expect(p.take('head', 'a')).rejects.toThrow('503');
    // one not taken (the restore failed before it) is handled too: put attaches a handler
    // (jest's own process object hears no unhandledRejection, so the handler is checked itself)
    const never = Promise.reject(new Error('never taken'));
    const handlers = jest.spyOn(never, 'catch');
    p.put('head', 'b', never);
    expect(handlers).toHaveBeenCalledTimes(1);
    await new Promise(resolve => setImmediate(resolve));
  });
});
