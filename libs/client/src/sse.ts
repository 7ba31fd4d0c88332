/** One Server-Sent Event as the stream carried it (WHATWG HTML, "event stream interpretation"). */
export interface SseMessage {
  /** `id:` of the event, or null when it had none. */
  readonly id: string | null;
  /** `event:`, `message` when absent. */
  readonly event: string;
  /** Every `data:` line of the event, joined with `\n`. */
  readonly data: string;
}

/**
 * Incremental parser of `text/event-stream`: feed it text as it arrives, in chunks cut
 * anywhere, and it returns the events completed so far. Comment lines (`: keep-alive`) and
 * unknown fields are skipped; an event without `data:` is not dispatched, as a browser does.
 */
export class SseParser {
  private buffer = '';
  private id: string | null = null;
  private event = '';
  private data: string[] = [];

  feed(text: string): SseMessage[] {
    this.buffer += text;
    const messages: SseMessage[] = [];
    let newline: number;
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      // A lone `\r` at the very end may be the first half of `\r\n`: wait for the next chunk.
      if (this.buffer[newline] === '\r' && newline === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + (this.buffer.startsWith('\r\n', newline) ? 2 : 1));
      const message = this.line(line);
      if (message) messages.push(message);
    }
    return messages;
  }

  private line(line: string): SseMessage | null {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    return null;
  }

  private dispatch(): SseMessage | null {
    const message = this.data.length > 0 ? { id: this.id, event: this.event || 'message', data: this.data.join('\n') } : null;
    this.event = '';
    this.data = [];
    // The last event id persists across events, as the spec's "last event ID buffer" does.
    return message;
  }
}
