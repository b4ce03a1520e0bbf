import { BodySource, HttpResponse } from './httpResponse';

/** A connection that records what the response asks of it. */
function source() {
  const calls: string[] = [];
  const connection: BodySource = {
    pause: () => calls.push('pause'),
    resume: () => calls.push('resume'),
    destroyFor: () => calls.push('destroy'),
  };
  return { calls, connection };
}

describe('HttpResponse.hold', () => {
  it('stops the connection reading until the body is iterated, then reads it whole', async () => {
    const { calls, connection } = source();
    const res = new HttpResponse(200, {}, connection);
    res.expected = 8;
    res.hold();
    expect(calls).toEqual(['pause']);
    // what the read in progress brings is kept, and the connection is held again
    res.push(Buffer.from('abcd'), 0, 4);
    expect(calls).toEqual(['pause', 'pause']);
    const read: Buffer[] = [];
    const reading = (async () => {
      for await (const chunk of res) read.push(chunk);
    })();
    await new Promise(r => setImmediate(r));
    expect(calls).toEqual(['pause', 'pause', 'resume']);
    res.push(Buffer.from('efgh'), 0, 4);
    res.end();
    await reading;
    expect(Buffer.concat(read).toString()).toBe('abcdefgh');
    // once read, a small chunk pauses nothing (the reader asks for more as it takes each one)
    expect(calls.slice(3).filter(c => c !== 'resume')).toEqual([]);
  });

  it('is a no-op for a body that ended or is dropped', () => {
    const { calls, connection } = source();
    const ended = new HttpResponse(200, {}, connection);
    ended.end();
    ended.hold();
    const dropped = new HttpResponse(200, {}, connection);
    dropped.resume();
    dropped.hold();
    expect(calls).toEqual(['resume']); // the drop's own
  });
});
