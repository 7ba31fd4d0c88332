import type { Readable } from 'node:stream';
import type { JsonValue } from '@kv/store';
import { UnreachableError, errorFromAnswer, isRecord } from './errors';
import { SseParser, type SseMessage } from './sse';
import { TransportFailure, boundedTimerMs, type Transport } from './transport';

/** One change as `GET /watch` streams it; `version` is the write's global version. */
export type WatchEvent =
  | { readonly type: 'put'; readonly key: string; readonly value: JsonValue; readonly version: number }
  | { readonly type: 'delete'; readonly key: string; readonly version: number };

export interface WatchOptions {
  /** Only keys starting with this (all keys when absent). */
  readonly prefix?: string;
  /** Changes above this version; absent: only changes after the request; 0: every live key first. */
  readonly fromVersion?: number;
  /** Watch this node only, instead of the first that answers. */
  readonly endpoint?: string;
  /** Stops the watch: the iterator ends without an error. */
  readonly signal?: AbortSignal;
  /** Pause before reconnecting after the stream ends or breaks, in ms (default 500). */
  readonly reconnectDelayMs?: number;
  /** Connection attempts in a row that may fail before the watch throws (default 10). */
  readonly maxReconnects?: number;
  /**
   * A stream silent this long is taken as broken and reconnected, in ms (default 45,000: three
   * missed keep-alives); a node that does not answer a watch's request within it is too.
   */
  readonly idleTimeoutMs?: number;
  /** Told before each reconnect, with the version the watch resumes after (null: unknown). */
  readonly onReconnect?: (endpoint: string, lastVersion: number | null) => void;
}

/**
 * The watch loop behind `KvClient.watch`: connect to the first endpoint that answers,
 * yield each event, and on a broken or ended stream reconnect with `Last-Event-ID` (and
 * `fromVersion`) set to the last version seen. The resume point before any event is the
 * caller's `fromVersion`, else the `X-Applied-Version` the node answered with, so a
 * reconnect misses nothing in either case. A node's error answer (400, 410) is thrown.
 */
export async function* watchEvents(transport: Transport, endpoints: readonly string[], options: WatchOptions): AsyncGenerator<WatchEvent, void, undefined> {
  const reconnectDelayMs = options.reconnectDelayMs ?? 500;
  const maxReconnects = options.maxReconnects ?? 10;
  let lastVersion: number | null = options.fromVersion ?? null;
  let resumed = false;
  let failuresInRow: TransportFailure[] = [];
  let index = 0;
  while (!options.signal?.aborted) {
    const endpoint = endpoints[index % endpoints.length];
    let stream: Readable;
    try {
      const answer = await transport.stream({
        endpoint,
        method: 'GET',
        path: '/watch',
        query: { prefix: options.prefix || undefined, fromVersion: lastVersion ?? undefined },
        headers: resumed && lastVersion !== null ? { 'last-event-id': String(lastVersion) } : {},
        // The wait for the answer's headers (the stream itself has the idle timeout below).
        timeoutMs: options.idleTimeoutMs ?? 45_000,
        signal: options.signal,
      });
      if (answer.status !== 200) {
        answer.stream.destroy();
        throw errorFromAnswer(answer.status, answer.body, endpoint);
      }
      stream = answer.stream;
      const applied = Number(answer.headers['x-applied-version']);
      if (lastVersion === null && Number.isSafeInteger(applied)) lastVersion = applied;
      failuresInRow = [];
    } catch (error) {
      if (options.signal?.aborted) return;
      if (!(error instanceof TransportFailure)) throw error;
      failuresInRow.push(error);
      if (failuresInRow.length > maxReconnects) {
        throw new UnreachableError('UNREACHABLE', `watch: ${[...new Set(failuresInRow.map((f) => f.message))].join('; ')}`, null, { failures: failuresInRow.map((f) => f.message) }, endpoint);
      }
      index++;
      await pause(reconnectDelayMs, options.signal);
      continue;
    }
    try {
      for await (const message of messages(stream, options.idleTimeoutMs ?? 45_000, options.signal)) {
        const event = toEvent(message);
        if (event === null) continue;
        lastVersion = event.version;
        yield event;
      }
    } finally {
      stream.destroy();
    }
    if (options.signal?.aborted) return;
    resumed = true;
    options.onReconnect?.(endpoint, lastVersion);
    await pause(reconnectDelayMs, options.signal);
  }
}

/** The SSE messages of one stream until it ends, breaks, stays silent `idleTimeoutMs` or `signal` aborts. */
async function* messages(stream: Readable, idleTimeoutMs: number, signal: AbortSignal | undefined): AsyncGenerator<SseMessage> {
  const parser = new SseParser();
  let timer: NodeJS.Timeout | undefined;
  // An idle timeout a Node timer cannot hold (infinite, or past 2^31 - 1 ms) means none: as a
  // timer it would fire after 1 ms and reconnect for ever.
  const idleMs = boundedTimerMs(idleTimeoutMs);
  const arm = () => {
    clearTimeout(timer);
    if (idleMs !== null) timer = setTimeout(() => stream.destroy(), idleMs);
  };
  const abort = () => stream.destroy();
  signal?.addEventListener('abort', abort, { once: true });
  stream.setEncoding('utf8');
  arm();
  try {
    for await (const chunk of stream) {
      arm();
      yield* parser.feed(chunk as string);
    }
  } catch {
    // A broken stream ends this connection; the caller reconnects.
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', abort);
  }
}

/** A `put` or `delete` event as a WatchEvent; null for other events and unparsable data. */
export function toEvent(message: SseMessage): WatchEvent | null {
  if (message.event !== 'put' && message.event !== 'delete') return null;
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    return null;
  }
  if (!isRecord(data) || typeof data.key !== 'string') return null;
  const version = typeof data.version === 'number' ? data.version : Number(message.id);
  if (!Number.isSafeInteger(version)) return null;
  if (message.event === 'delete') return { type: 'delete', key: data.key, version };
  return { type: 'put', key: data.key, value: (data.value ?? null) as JsonValue, version };
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
