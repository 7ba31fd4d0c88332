import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { stormKeys } from './storm-runner';
import { openWatchers, SseEventCounter, watcherPrefixes } from './watchers';
import { rawServer } from './testing/loopback-servers';

/** A node stand-in that streams `events` SSE events to every watcher, then stays open; `urls` are the requests' paths. */
async function sseServer(events: number, status = 200) {
  const urls: string[] = [];
  const server = http.createServer((req, res) => {
    urls.push(req.url ?? '');
    if (status !== 200) return void res.writeHead(status).end();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(': watching\n\n');
    for (let i = 1; i <= events; i++) res.write(`id: ${i}\nevent: put\ndata: {"key":"k","value":${i},"version":${i}}\n\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, urls };
}

describe('SseEventCounter', () => {
  // Two events, an event whose id comes first, comments, a data line that merely contains
  // "event:", and a frame without an event field: 3 events in all.
  const stream =
    ': watching\n\n' +
    'id: 1\nevent: put\ndata: {"key":"perf-1","value":"é☃","version":1}\n\n' +
    ': keep-alive\n\n' +
    'event: delete\nid: 2\ndata: {"key":"perf-2","version":2}\n\n' +
    'data: {"note":"event: not a field"}\n\n' +
    'id: 3\nevent: reset\ndata: {"reason":"shutdown"}\n\n';
  const count = (chunks: string[]) => {
    const counter = new SseEventCounter();
    return chunks.reduce((events, chunk) => events + counter.push(chunk), 0);
  };

  it('counts exactly the frames with an event: field', () => {
    expect(count([stream])).toBe(3);
    expect(count([stream, stream])).toBe(6);
  });

  it('counts the same when the stream is split at any one or two positions', () => {
    for (let i = 0; i <= stream.length; i++) {
      expect([i, count([stream.slice(0, i), stream.slice(i)])]).toEqual([i, 3]);
      for (let j = i; j <= stream.length; j += 7) expect([i, j, count([stream.slice(0, i), stream.slice(i, j), stream.slice(j)])]).toEqual([i, j, 3]);
    }
  });

  it('flags a frame that grows past its bound instead of keeping it all, still counting the events before it', () => {
    const within = new SseEventCounter(64);
    expect(within.push('event: put\ndata: 1\n\n' + 'x'.repeat(64))).toBe(1);
    expect(within.overflowed).toBe(false);
    const past = new SseEventCounter(64);
    expect(past.push('event: a\n\nevent: b\n\n' + 'x'.repeat(65))).toBe(2);
    expect(past.overflowed).toBe(true);
  });

  it('counts the same fed one character at a time, and holds back an unfinished frame', () => {
    expect(count([...stream])).toBe(3);
    expect(count([stream + 'id: 4\nevent: put\ndata: {}\n'])).toBe(3);
  });
});

describe('watcherPrefixes', () => {
  const keys = ['perf-0', 'perf-1', 'perf-2'];

  it('same: every watcher watches every storm key', () => {
    expect(watcherPrefixes('same', 4, keys)).toEqual(['perf-', 'perf-', 'perf-', 'perf-']);
  });

  it('spread: watcher i watches key i mod keys', () => {
    expect(watcherPrefixes('spread', 5, keys)).toEqual(['perf-0', 'perf-1', 'perf-2', 'perf-0', 'perf-1']);
  });

  it('idle: distinct prefixes that no storm key starts with', () => {
    const prefixes = watcherPrefixes('idle', 1000, stormKeys(100));
    expect(new Set(prefixes).size).toBe(1000);
    expect(stormKeys(100).some((key) => prefixes.some((prefix) => key.startsWith(prefix)))).toBe(false);
  });
});

describe('openWatchers', () => {
  it('holds N streams open and counts the events they get (not comments)', async () => {
    const { url, server, urls } = await sseServer(3);
    const prefixes = Array.from({ length: 120 }, (_, i) => (i === 0 ? null : `perf-${i % 7}/é`));
    const pool = await openWatchers(url, prefixes);
    try {
      expect(urls.sort()).toEqual(prefixes.map((prefix) => (prefix === null ? '/watch' : `/watch?prefix=${encodeURIComponent(prefix)}`)).sort());
      for (let i = 0; i < 100 && pool.events < 360; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(pool.open).toBe(120);
      expect(pool.events).toBe(360);
    } finally {
      await pool.close();
      server.closeAllConnections();
      server.close();
    }
    expect(pool.ended).toBe(0);
  });

  it('refuses a node that does not answer 200, naming it', async () => {
    const { url, server } = await sseServer(0, 404);
    try {
      await expect(openWatchers(url, [null, null, null])).rejects.toThrow(`watch on ${url} answered 404`);
    } finally {
      server.close();
    }
  });

  it('gives up on a node that keeps answering 102 Processing and never 200, at the timeout (a deadline, not an idle time)', async () => {
    const server = await rawServer((res, timers) => {
      const timer = setInterval(() => void (res.destroyed || res.writeProcessing()), 20);
      timers.add(timer);
      res.on('close', () => clearInterval(timer));
    });
    try {
      await expect(openWatchers(server.url, [null], { timeoutMs: 200 })).rejects.toThrow(`watch on ${server.url}: no answer within 200 ms`);
    } finally {
      await server.close();
    }
  });

  it('ends a stream whose frame grows past the bound without its blank line, and counts it as ended', async () => {
    // 64 chunks of 64 KiB (4 MiB) and no blank line, against a bound of 1 MiB.
    let sent = 0;
    const server = await rawServer((res, timers) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const timer = setInterval(() => void (res.destroyed || sent++ >= 64 || res.write('x'.repeat(64 * 1024))), 2);
      timers.add(timer);
      res.on('close', () => clearInterval(timer));
    });
    try {
      const pool = await openWatchers(server.url, [null], { maxFrameChars: 1024 * 1024 });
      for (let i = 0; i < 200 && pool.ended === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect({ open: pool.open, ended: pool.ended }).toEqual({ open: 0, ended: 1 });
      await pool.close();
    } finally {
      await server.close();
    }
  });
});
