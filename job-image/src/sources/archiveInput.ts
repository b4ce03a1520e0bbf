/**
 * Feeds an archive's bytes into the tar extractor (a streamx Writable) with backpressure, without
 * waiting on an extractor that has ended.
 *
 * A streamx stream that was destroyed answers every write with false and emits nothing more (no
 * 'drain'), so the loop must know it ended before it waits: the end is recorded synchronously in
 * the stream's own listeners (a flag set one microtask later, in a promise's reaction, leaves a gap
 * in which the loop can write and then wait forever), and `destroyed` is checked too.
 */

/** What the loop needs of the extractor. */
export interface ArchiveSink {
  write(chunk: Uint8Array): boolean;
  readonly destroyed?: boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
}

/** The extractor's end: `finished` settles when it finishes, closes or fails. */
export interface EndWatch {
  readonly finished: Promise<void>;
  /** True from the moment the extractor finished, closed or failed. */
  readonly ended: boolean;
}

/** Watches `stream` for its end (register before writing, so no event is missed). */
export function watchEnd(stream: ArchiveSink): EndWatch {
  let ended = false;
  const finished = new Promise<void>((resolve, reject) => {
    stream.on('finish', () => {
      ended = true;
      resolve();
    });
    stream.on('error', (error: Error) => {
      ended = true;
      reject(error);
    });
    stream.on('close', () => {
      ended = true;
      resolve();
    });
  });
  // The caller awaits `finished` after the loop; until then a failure must not count as unhandled.
  finished.catch(() => undefined);
  return {
    finished,
    get ended() {
      return ended || stream.destroyed === true;
    },
  };
}

/**
 * Writes every chunk of `input` into `stream`, waiting for a drain when its buffer is full; stops
 * early when `stop()` says so or the stream ended (leaving the input unread).
 */
export async function writeArchiveInput(
  input: AsyncIterable<Uint8Array>,
  stream: ArchiveSink,
  end: EndWatch,
  stop: () => boolean,
): Promise<void> {
  for await (const chunk of input) {
    if (stop() || end.ended) break;
    if (!stream.write(chunk) && !end.ended) await drainedOrEnded(stream);
  }
}

/**
 * Resolves when `stream` drains, finishes, closes or fails (a failure reaches the caller through
 * `watchEnd`). Its listeners go once it resolves: a race with a promise that settles only when the
 * archive ends would keep one reaction per wait until then, a little memory per entry.
 */
function drainedOrEnded(stream: ArchiveSink): Promise<void> {
  const events = ['drain', 'finish', 'close', 'error'];
  return new Promise(resolve => {
    const done = () => {
      for (const event of events) stream.removeListener(event, done);
      resolve();
    };
    for (const event of events) stream.on(event, done);
  });
}
