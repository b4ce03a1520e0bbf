import { EventStreamParser, ServerSentEvent } from './eventStream';

function parse(chunks: string[]): ServerSentEvent[] {
  const events: ServerSentEvent[] = [];
  const parser = new EventStreamParser(e => events.push(e));
  for (const chunk of chunks) parser.push(chunk);
  return events;
}

describe('EventStreamParser', () => {
  it('parses named events and ignores comments (the keep-alive)', () => {
    expect(
      parse([
        ': keep-alive\n\n',
        'event: status\ndata: {"phase":"Restoring"}\n\n',
        'event: end\ndata: {}\n\n',
      ]),
    ).toEqual([
      { event: 'status', data: '{"phase":"Restoring"}', id: undefined },
      { event: 'end', data: '{}', id: undefined },
    ]);
  });

  it('joins events split across chunks anywhere, also inside \\r\\n', () => {
    const text =
      'event: status\r\ndata: {"a":1}\r\n\r\nevent: end\r\ndata: {}\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) {
      expect(parse([text.slice(0, cut), text.slice(cut)])).toEqual([
        { event: 'status', data: '{"a":1}', id: undefined },
        { event: 'end', data: '{}', id: undefined },
      ]);
    }
  });

  it('joins multi-line data, defaults the event name and keeps the id', () => {
    expect(parse(['id: 7\ndata: one\ndata:two\n\n'])).toEqual([
      { event: 'message', data: 'one\ntwo', id: '7' },
    ]);
  });

  it('dispatches nothing for an event without a terminating blank line', () => {
    expect(parse(['event: status\ndata: {}\n'])).toEqual([]);
  });
});
