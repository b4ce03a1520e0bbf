/**
 * A reader of `text/event-stream` bodies (the Server-Sent Events wire format) for fetch responses.
 *
 * The browser's EventSource cannot send an Authorization header, and the backend authenticates every
 * request with the user's Backstage token; so the stream is fetched through fetchApi and parsed here.
 */

export interface ServerSentEvent {
  /** `message` when the server names no event. */
  event: string;
  data: string;
  id?: string;
}

/** Parses a chunked event stream; feed it text with `push`, it calls `onEvent` per complete event. */
export class EventStreamParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;

  constructor(private readonly onEvent: (event: ServerSentEvent) => void) {}

  push(text: string): void {
    this.buffer += text;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (
        !match ||
        (match[0] === '\r' && match.index === this.buffer.length - 1)
      )
        return;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) {
        this.onEvent({
          event: this.event || 'message',
          data: this.data.join('\n'),
          id: this.id,
        });
      }
      this.event = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id') this.id = value;
  }
}

/** Reads a response body to its end (or until `signal` aborts), calling `onEvent` for each event. */
export async function readEventStream(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: ServerSentEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  const parser = new EventStreamParser(onEvent);
  const decoder = new TextDecoder();
  const reader = body.getReader();
  // Not every fetch ends the body when its request is aborted; cancelling the reader always does.
  const cancel = () => {
    reader.cancel().catch(() => {});
  };
  if (signal?.aborted) cancel();
  signal?.addEventListener('abort', cancel);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
    }
    parser.push(decoder.decode());
  } finally {
    signal?.removeEventListener('abort', cancel);
    reader.releaseLock();
  }
}
