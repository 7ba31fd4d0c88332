import { FakeNode } from './testing';
import { KvClient } from './kv-client';
import { HistoryCompactedError } from './errors';
import { SseParser } from './sse';
import { toEvent, type WatchEvent } from './watch';
import { getEventListeners } from 'node:events';
import http from 'node:http';
import type net from 'node:net';
import { silentServer, tricklingServer } from './spec-helpers';

describe('SseParser', () => {
  it('parses events cut anywhere, skipping comments, joining data lines', () => {
    const text = ': keep-alive\r\n\r\nid: 3\r\nevent: put\r\ndata: {"a":\r\ndata: 1}\r\n\r\nid: 4\nevent: delete\ndata: {}\n\n';
    const parser = new SseParser();
    const messages = [...text].flatMap((char) => parser.feed(char));
    expect(messages).toEqual([
      { id: '3', event: 'put', data: '{"a":\n1}' },
      { id: '4', event: 'delete', data: '{}' },
    ]);
  });

  it('turns put and delete messages into events and skips others', () => {
    expect(toEvent({ id: '2', event: 'put', data: '{"key":"k","value":null,"version":2}' })).toEqual({ type: 'put', key: 'k', value: null, version: 2 });
    expect(toEvent({ id: '3', event: 'delete', data: '{"key":"k"}' })).toEqual({ type: 'delete', key: 'k', version: 3 });
    expect(toEvent({ id: null, event: 'message', data: '{}' })).toBeNull();
    expect(toEvent({ id: '1', event: 'put', data: 'not json' })).toBeNull();
  });
});

describe('KvClient.watch', () => {
  let node: FakeNode;
  let client: KvClient;

  beforeEach(async () => {
    node = await FakeNode.start({ role: 'follower' });
    client = new KvClient({ endpoints: [node.url] });
  });

  afterEach(async () => {
    client.close();
    await node.stop();
  });

  async function take(iterator: AsyncGenerator<WatchEvent>, count: number): Promise<WatchEvent[]> {
    const events: WatchEvent[] = [];
    for await (const event of iterator) {
      events.push(event);
      if (events.length === count) break;
    }
    return events;
  }

  it('replays from fromVersion, then streams live changes under the prefix', async () => {
    node.apply('a1', 1);
    node.apply('b1', 2);
    const watch = client.watch({ prefix: 'a', fromVersion: 0 });
    setTimeout(() => (node.apply('a2', 'x'), node.apply('b2', 'y'), node.apply('a1', undefined)), 50);
    expect(await take(watch, 3)).toEqual([
      { type: 'put', key: 'a1', value: 1, version: 1 },
      { type: 'put', key: 'a2', value: 'x', version: 3 },
      { type: 'delete', key: 'a1', version: 5 },
    ]);
    expect(node.requests[0].url).toBe('/watch?prefix=a&fromVersion=0');
  });

  it('resumes after a dropped stream with Last-Event-ID set to the last version seen', async () => {
    const reconnects: Array<number | null> = [];
    const watch = client.watch({ fromVersion: 0, reconnectDelayMs: 10, onReconnect: (_e, v) => reconnects.push(v) });
    setTimeout(() => {
      node.apply('k', 1);
      setTimeout(() => {
        node.dropWatchers();
        // Written while no one watches: the resumed stream must replay it.
        node.apply('k', 2);
      }, 50);
    }, 50);
    expect(await take(watch, 2)).toEqual([
      { type: 'put', key: 'k', value: 1, version: 1 },
      { type: 'put', key: 'k', value: 2, version: 2 },
    ]);
    expect(reconnects).toEqual([1]);
    expect(node.requests.map((r) => [r.url, r.lastEventId])).toEqual([
      ['/watch?fromVersion=0', undefined],
      ['/watch?fromVersion=1', '1'],
    ]);
  });

  it('without fromVersion resumes from the X-Applied-Version the node answered', async () => {
    node.apply('old', 1);
    const watch = client.watch({ reconnectDelayMs: 10 });
    setTimeout(() => {
      node.dropWatchers();
      node.apply('new', 2);
    }, 50);
    expect(await take(watch, 1)).toEqual([{ type: 'put', key: 'new', value: 2, version: 2 }]);
    expect(node.requests[1]).toEqual({ method: 'GET', url: '/watch?fromVersion=1', lastEventId: '1' });
  });

  it('throws the node error answer (410 HISTORY_COMPACTED) and ends on abort', async () => {
    node.oldestVersion = 5;
    const compacted = (await take(client.watch({ fromVersion: 2 }), 1).catch((e: unknown) => e)) as HistoryCompactedError;
    expect(compacted).toBeInstanceOf(HistoryCompactedError);
    expect([compacted.status, compacted.oldestVersion]).toEqual([410, 5]);
    node.oldestVersion = 0;
    const gone = await FakeNode.start({ role: 'leader' });
    const goneUrl = gone.url;
    const watcher = new KvClient({ endpoints: [goneUrl] });
    await gone.stop();
    // A node that is gone: the watch gives up after maxReconnects attempts and names it.
    await expect(take(watcher.watch({ maxReconnects: 1, reconnectDelayMs: 1 }), 1)).rejects.toMatchObject({ code: 'UNREACHABLE', message: expect.stringContaining(goneUrl) });
    watcher.close();
    const controller = new AbortController();
    const watch = client.watch({ signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect(await take(watch, 1)).toEqual([]);
  });

  it('does not wait for ever on a node that accepts a watch and never answers: it reconnects, then gives up', async () => {
    const silent = await silentServer();
    const watcher = new KvClient({ endpoints: [silent.url] });
    const started = Date.now();
    await expect(take(watcher.watch({ idleTimeoutMs: 100, maxReconnects: 1, reconnectDelayMs: 1 }), 1)).rejects.toMatchObject({
      code: 'UNREACHABLE',
      message: expect.stringContaining(`${silent.url}: no answer within 100 ms`),
    });
    expect(Date.now() - started).toBeLessThan(3000);
    watcher.close();
    await silent.stop();
  });

  it("reads at most 64 KiB of a refusal's body, within the deadline", async () => {
    // A 503 whose body never ends, 16 KiB every 5 ms.
    const endless = await tricklingServer(503, 'x'.repeat(16 * 1024), 5);
    const watcher = new KvClient({ endpoints: [endless.url] });
    const started = Date.now();
    const error = await take(watcher.watch({ idleTimeoutMs: 2000, maxReconnects: 0, reconnectDelayMs: 1 }), 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(1500);
    watcher.close();
    await endless.stop();
  });

  /** A plain HTTP server on loopback answering every request with `handler`. */
  async function httpServer(handler: http.RequestListener) {
    const server = http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
      stop: async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  }

  it("ends promptly when the caller's signal aborts during the wait for headers, even a signal that is not Node's own", async () => {
    const silent = await silentServer();
    const watcher = new KvClient({ endpoints: [silent.url] });
    // A polyfill's (or another realm's) signal: an EventTarget with `aborted`, not Node's AbortSignal.
    const foreign = Object.assign(new EventTarget(), { aborted: false, reason: undefined as unknown, onabort: null, throwIfAborted() {} });
    setTimeout(() => {
      Object.assign(foreign, { aborted: true, reason: new Error('stop') });
      foreign.dispatchEvent(new Event('abort'));
    }, 100);
    const started = Date.now();
    expect(await take(watcher.watch({ idleTimeoutMs: 5000, signal: foreign as unknown as AbortSignal }), 1)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(2000);
    watcher.close();
    await silent.stop();
  });

  it.each([Number.POSITIVE_INFINITY, 2 ** 31])('takes an idleTimeoutMs a timer cannot hold (%p) as none, and still delivers', async (idleTimeoutMs) => {
    const watch = client.watch({ idleTimeoutMs, reconnectDelayMs: 20 });
    setTimeout(() => node.apply('a', 1), 100);
    const first = await watch.next();
    await watch.return(undefined);
    expect(first).toMatchObject({ value: { key: 'a' } });
  });

  it("leaves nothing on the caller's signal after many reconnects", async () => {
    const closing = await httpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-applied-version': '0' });
      res.end(': bye\n\n');
    });
    const watcher = new KvClient({ endpoints: [closing.url] });
    const controller = new AbortController();
    let reconnects = 0;
    const watch = watcher.watch({ idleTimeoutMs: 5000, signal: controller.signal, reconnectDelayMs: 1, onReconnect: () => void (++reconnects >= 50 && controller.abort()) });
    expect(await take(watch, 1)).toEqual([]);
    expect(reconnects).toBe(50);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // Node 20 keeps every AbortSignal.any made from a signal linked to it (kDependantSignals).
    const linked = Object.getOwnPropertySymbols(controller.signal).find((symbol) => String(symbol) === 'Symbol(kDependantSignals)');
    expect(linked === undefined ? 0 : (controller.signal as unknown as Record<symbol, Set<unknown>>)[linked].size).toBe(0);
    watcher.close();
    await closing.stop();
  });

  it('reconnects, then gives up with UNREACHABLE, when a refusal breaks off mid-body', async () => {
    let requests = 0;
    const breaking = await httpServer((_req, res) => {
      requests++;
      res.writeHead(503, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"error":"busy');
      setTimeout(() => res.destroy(), 20);
    });
    const watcher = new KvClient({ endpoints: [breaking.url] });
    await expect(take(watcher.watch({ idleTimeoutMs: 2000, maxReconnects: 2, reconnectDelayMs: 1 }), 1)).rejects.toMatchObject({ code: 'UNREACHABLE' });
    expect(requests).toBe(3);
    watcher.close();
    await breaking.stop();
  });
});
