/**
 * The tar input loop against a real tar-stream extractor (a streamx Writable) that is destroyed
 * while the loop waits for the next chunk.
 */
import * as tar from 'tar-stream';
import { watchEnd, writeArchiveInput } from './archiveInput';

/** Rejects after `ms`: a loop that waits for an event that never comes shows up as a failure. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`still waiting after ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe('writeArchiveInput', () => {
  it('does not wait for a drain when the extractor closed just before a write', async () => {
    const extract = tar.extract();
    let release: (r: IteratorResult<Buffer>) => void = () => undefined;
    // Registered before the loop's own listeners, so it runs first when the extractor closes: the
    // loop's next write comes before anything the loop's listeners queue for later.
    extract.on('close', () =>
      release({ value: Buffer.alloc(64 * 1024), done: false }),
    );
    let calls = 0;
    let consumed = 0;
    const input: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: () => ({
        next: () => {
          calls++;
          if (calls === 1)
            return Promise.resolve({ value: Buffer.alloc(512), done: false });
          if (calls === 2) {
            extract.destroy();
            return new Promise<IteratorResult<Buffer>>(r => {
              release = r;
            });
          }
          consumed++;
          return Promise.resolve(
            consumed > 100
              ? { value: undefined, done: true }
              : { value: Buffer.alloc(64 * 1024), done: false },
          );
        },
      }),
    };
    const end = watchEnd(extract);
    await within(
      writeArchiveInput(input, extract, end, () => false),
      2000,
    );
    expect(end.ended).toBe(true);
    // Nothing more is read once the extractor is gone.
    expect(consumed).toBe(0);
    await within(end.finished, 2000);
  });

  it('waits for a drain while the extractor is alive, and stops when asked', async () => {
    const extract = tar.extract();
    extract.on('entry', (_header, stream, next) => {
      stream.on('end', next);
      stream.resume();
    });
    // An archive of one 1 MiB file, in 64 KiB chunks: the writes outrun the extractor's buffer.
    const pack = tar.pack();
    pack.entry({ name: 'big', size: 1 << 20 }, Buffer.alloc(1 << 20, 7));
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    const all = Buffer.concat(chunks);
    let stopped = false;
    let sent = 0;
    const input = (async function* pieces() {
      for (let i = 0; i < all.length; i += 64 * 1024) {
        if (i >= 512 * 1024) stopped = true;
        sent++;
        yield all.subarray(i, i + 64 * 1024);
      }
    })();
    const end = watchEnd(extract);
    await within(
      writeArchiveInput(input, extract, end, () => stopped),
      5000,
    );
    expect(sent).toBe(9);
    expect(end.ended).toBe(false);
    extract.destroy();
    await within(end.finished, 2000);
    expect(end.ended).toBe(true);
  });
});
