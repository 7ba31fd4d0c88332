import http from 'node:http';
import { establishWithin } from './http-answer';
import type { WatchLayout } from './storm-plan';

/** Watchers held open on one node while a storm runs: what 1,000 idle `GET /watch` streams cost. */
export interface WatcherPool {
  /** Watchers whose stream answered 200 and is still open. */
  readonly open: number;
  /** Events received so far, over every watcher. */
  readonly events: number;
  /** Streams that ended or failed before `close()`. */
  readonly ended: number;
  /** Closes every stream; resolves once their sockets are gone. */
  close(): Promise<void>;
}

/**
 * Counts the Server-Sent-Event frames (ending in a blank line) that carry an `event:` field,
 * across chunks split anywhere. The scan resumes where the last one stopped and only the
 * unfinished frame is kept, so a chunk costs in proportion to its size plus that one frame:
 * this runs on the cores the measured cluster runs on. Lines end in `\n` only, as the
 * nodes write them.
 */
export class SseEventCounter {
  /** The start of a frame whose blank line has not arrived yet. */
  private pending = '';
  /** Set once a frame outgrew `maxFrameChars`: what follows cannot be framed. */
  overflowed = false;

  /**
   * `maxFrameChars`: the longest frame kept while its blank line is awaited. A node's frame
   * carries at most one 1 MiB value (API.md), which JSON escapes can make 6 times longer.
   */
  constructor(private readonly maxFrameChars = 16 * 1024 * 1024) {}

  /**
   * Takes the next chunk of the stream; returns the number of events it completed.
   * Once the unfinished frame grows past `maxFrameChars` (a stream that is not SSE), the
   * events the chunk completed are still returned and `overflowed` is set: the stream is to
   * be ended, and the counter keeps nothing more.
   */
  push(chunk: string): number {
    const text = this.pending === '' ? chunk : this.pending + chunk;
    // The pending tail holds no blank line, but its last \n may pair with the chunk's first.
    let from = Math.max(0, this.pending.length - 1);
    let frameStart = 0;
    let events = 0;
    let end: number;
    while ((end = text.indexOf('\n\n', from)) >= 0) {
      if (hasEventField(text, frameStart, end)) events++;
      frameStart = from = end + 2;
    }
    this.pending = text.slice(frameStart);
    if (this.pending.length > this.maxFrameChars) {
      this.overflowed = true;
      this.pending = '';
    }
    return events;
  }
}

/** Whether a line of `text[start, end)` (lines split by \n) begins with `event:`. */
function hasEventField(text: string, start: number, end: number): boolean {
  for (let line = start; line < end; ) {
    if (text.startsWith('event:', line)) return true;
    const next = text.indexOf('\n', line);
    if (next < 0 || next >= end) return false;
    line = next + 1;
  }
  return false;
}

/** What every storm key starts with (`stormKeys`), and no prefix of `idle` watchers matches past it. */
const STORM_KEY_PREFIX = 'perf-';

/**
 * The prefix each of `count` watchers watches in `layout` (`WatchLayout`), for a storm that
 * writes `keys`. `spread` uses the key itself as the prefix, so `perf-1` also sees `perf-10`
 * to `perf-19` (and so on): with 100 keys a write reaches 19 of 1,000 watchers on average.
 */
export function watcherPrefixes(layout: WatchLayout, count: number, keys: readonly string[]): string[] {
  return Array.from({ length: count }, (_, i) => {
    if (layout === 'same') return STORM_KEY_PREFIX;
    if (layout === 'spread') return keys[i % keys.length];
    // Every storm key is perf-<digits>: perf-idle-… is distinct per watcher and matches none.
    return `${STORM_KEY_PREFIX}idle-${i}`;
  });
}

/**
 * Opens one Server-Sent-Event stream on `nodeUrl` per entry of `prefixes` (`GET
 * /watch?prefix=…`, API.md, *Watch*; null: no prefix, every key), each on its own
 * connection, and counts the events they receive (frames ending in a blank line that carry
 * an `event:` field). Resolves once every stream answered, or rejects naming the first that
 * did not answer 200 within `timeoutMs` (ms, a deadline: 1xx answers do not extend it). A
 * stream whose unfinished frame grows past `maxFrameChars` (SseEventCounter's default) is
 * ended and counted in `ended`.
 */
export async function openWatchers(nodeUrl: string, prefixes: ReadonlyArray<string | null>, options: { timeoutMs?: number; maxFrameChars?: number } = {}): Promise<WatcherPool> {
  const streams = newStreamSet();
  const { agent, requests, state } = streams;
  const one = (prefix: string | null) =>
    new Promise<void>((resolve, reject) => {
      const url = new URL(`/watch${prefix === null ? '' : `?prefix=${encodeURIComponent(prefix)}`}`, nodeUrl);
      const request = http.get(url, { agent, headers: { accept: 'text/event-stream' } }, (response) => {
        established();
        if (response.statusCode !== 200) {
          response.resume();
          reject(new Error(`watch on ${nodeUrl} answered ${response.statusCode}`));
          return;
        }
        state.open++;
        const counter = new SseEventCounter(options.maxFrameChars);
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          state.events += counter.push(chunk);
          // A frame past the bound: this stream ends (counted as ended), the others go on.
          if (counter.overflowed) response.destroy();
        });
        response.on('close', () => {
          state.open--;
          if (!state.closing) state.ended++;
        });
        resolve();
      });
      const timeoutMs = options.timeoutMs ?? 10_000;
      const established = establishWithin(request, timeoutMs, `watch on ${nodeUrl}: no answer within ${timeoutMs} ms`);
      request.on('error', (error) => {
        if (!state.closing) reject(error);
      });
      requests.push(request);
    });
  return holdStreams(streams, prefixes, one);
}

/** The streams of one pool: their connections (none shared), the requests to destroy on close, and the counts they keep. */
export interface StreamSet {
  readonly agent: http.Agent;
  readonly requests: http.ClientRequest[];
  readonly state: { open: number; events: number; ended: number; closing: boolean };
}

export function newStreamSet(): StreamSet {
  return { agent: new http.Agent({ keepAlive: false, maxSockets: Infinity }), requests: [], state: { open: 0, events: 0, ended: 0, closing: false } };
}

/**
 * Opens a stream per prefix with `open` (which resolves once its stream is established and
 * registers its request in `streams`), 50 at a time: a thousand connects at once would
 * overflow the node's accept backlog. Returns the pool; if one fails, closes every stream
 * and rethrows.
 */
export async function holdStreams<P>(streams: StreamSet, prefixes: readonly P[], open: (prefix: P) => Promise<void>): Promise<WatcherPool> {
  const { state, requests, agent } = streams;
  const pool: WatcherPool = {
    get open() {
      return state.open;
    },
    get events() {
      return state.events;
    },
    get ended() {
      return state.ended;
    },
    async close() {
      state.closing = true;
      for (const request of requests) request.destroy();
      agent.destroy();
      // Let the sockets' close events run before the caller reads the counts.
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
  try {
    for (let i = 0; i < prefixes.length; i += 50) await Promise.all(prefixes.slice(i, i + 50).map(open));
  } catch (error) {
    await pool.close();
    throw error;
  }
  return pool;
}
