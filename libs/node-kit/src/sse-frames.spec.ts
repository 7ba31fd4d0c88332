import { changeFrame, resetFrame } from './sse-frames';

describe('SSE frames of GET /watch (API.md, Watch)', () => {
  it('frames a put and a delete with id, event and one data line of JSON', () => {
    expect(changeFrame({ key: 'a', version: 7, deleted: false, value: { s: 'two\nlines' } })).toBe(
      'id: 7\nevent: put\ndata: {"key":"a","value":{"s":"two\\nlines"},"version":7}\n\n',
    );
    expect(changeFrame({ key: 'a', version: 8, deleted: true })).toBe('id: 8\nevent: delete\ndata: {"key":"a","version":8}\n\n');
  });

  it('frames a reset without an id, so Last-Event-ID stays the last change', () => {
    const frame = resetFrame('resync', 'why');
    expect(frame).toBe('event: reset\ndata: {"reason":"resync","message":"why"}\n\n');
    expect(frame).not.toMatch(/^id:/m);
  });
});
