import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { runStorm, StormConnections, stormValue, UNFRAMED_ANSWER } from './load-generator';
import type { StormSpec } from './storm-spec';
import { onLoopback, rawServer } from './testing/loopback-servers';

/** An in-process server that answers PUTs with what `answer` says, counting requests and connections. */
async function fakeLeader(answer: (url: string, body: string) => { status: number; delayMs?: number }) {
  const requests: Array<{ url: string; body: string }> = [];
  let connections = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      requests.push({ url: req.url ?? '', body });
      const { status, delayMs = 0 } = answer(req.url ?? '', body);
      const timer = setTimeout(() => {
        timers.delete(timer);
        res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      }, delayMs);
      timers.add(timer);
    });
  });
  server.on('connection', () => connections++);
  return { ...(await onLoopback(server, timers, () => server.closeAllConnections())), requests, connections: () => connections };
}

/**
 * A TCP server that speaks raw bytes: `answer` runs once per request (each request's JSON
 * body ends with its `}`), for answers Node's HTTP server would not send (1xx answers that
 * keep coming, a body framed by the connection's end).
 */
async function tcpLeader(answer: (socket: net.Socket, timers: Set<NodeJS.Timeout>) => void) {
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = '';
    socket.on('data', (data: Buffer) => {
      pending += data.toString('latin1');
      for (let end = pending.indexOf('}'); end >= 0; end = pending.indexOf('}')) {
        pending = pending.slice(end + 1);
        answer(socket, timers);
      }
    });
  });
  return onLoopback(server, timers, () => sockets.forEach((socket) => socket.destroy()));
}

/** Writes `chunks` pieces of `chunkBytes` bytes, one every `everyMs`, then ends (or destroys the socket with `cutAfter` pieces sent). */
interface TrickleOptions {
  readonly chunks: number;
  readonly chunkBytes: number;
  readonly everyMs: number;
  readonly declared?: number;
  readonly cutAfter?: number;
}

function trickle(res: http.ServerResponse, timers: Set<NodeJS.Timeout>, options: TrickleOptions) {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': options.declared ?? options.chunks * options.chunkBytes });
  let sent = 0;
  const next = () => {
    if (options.cutAfter !== undefined && sent === options.cutAfter) return void res.socket?.destroy();
    if (sent === options.chunks) return void res.end();
    res.write('x'.repeat(options.chunkBytes));
    sent++;
    const timer = setTimeout(next, options.everyMs);
    timers.add(timer);
  };
  next();
}

const spec = (targetUrl: string, overrides: Partial<StormSpec> = {}): StormSpec => ({
  targetUrl,
  quorum: 3,
  writes: 40,
  concurrency: 4,
  keys: ['a', 'b/c'],
  valueSize: 16,
  label: 'test',
  timeLimitMs: 10_000,
  requestTimeoutMs: 5_000,
  ...overrides,
});

describe('stormValue', () => {
  it('is unique per write and padded to the asked size', () => {
    expect(stormValue('run', 7, 12)).toBe('run#7.......');
    expect(stormValue('run', 12345, 4)).toBe('run#12345');
  });
});

describe('runStorm', () => {
  const opened: StormConnections[] = [];
  const connections = () => {
    const created = new StormConnections();
    opened.push(created);
    return created;
  };
  afterEach(() => Promise.all(opened.splice(0).map((c) => c.close())));
  /** One storm against a server that answers every write by `trickle(options)`. */
  const stormTrickled = async (options: TrickleOptions, overrides: Partial<StormSpec>) => {
    const leader = await rawServer((res, timers) => trickle(res, timers, options));
    try {
      return await runStorm(spec(leader.url, overrides), connections());
    } finally {
      await leader.close();
    }
  };

  it('sends exactly the asked writes with ?w=N over one keep-alive connection per writer', async () => {
    const leader = await fakeLeader(() => ({ status: 200, delayMs: 1 }));
    try {
      const completed: number[] = [];
      const sample = await runStorm(spec(leader.url), connections(), (n) => completed.push(n));
      expect(sample).toMatchObject({ attempted: 40, succeeded: 40, failures: {}, cutShort: false });
      expect(sample.latenciesMs).toHaveLength(40);
      expect(Math.min(...sample.latenciesMs)).toBeGreaterThan(0);
      expect(completed.at(-1)).toBe(40);
      expect(leader.connections()).toBe(4);
      expect(new Set(leader.requests.map((r) => r.url))).toEqual(new Set(['/kv/a?w=3', '/kv/b%2Fc?w=3']));
      const values = leader.requests.map((r) => (JSON.parse(r.body) as { value: string }).value);
      expect(new Set(values).size).toBe(40);
      expect(values.every((v) => v.length === 16 && v.startsWith('test#'))).toBe(true);
    } finally {
      await leader.close();
    }
  });

  it("speaks etcd's HTTP gateway with protocol etcd: POST /v3/kv/put, base64 key and value", async () => {
    const leader = await fakeLeader(() => ({ status: 200 }));
    try {
      const sample = await runStorm(spec(leader.url, { writes: 6, concurrency: 2, protocol: 'etcd' }), connections());
      expect(sample).toMatchObject({ attempted: 6, succeeded: 6 });
      expect(new Set(leader.requests.map((r) => r.url))).toEqual(new Set(['/v3/kv/put']));
      const puts = leader.requests.map((r) => JSON.parse(r.body) as { key: string; value: string });
      expect(new Set(puts.map((p) => Buffer.from(p.key, 'base64').toString()))).toEqual(new Set(['a', 'b/c']));
      const values = puts.map((p) => Buffer.from(p.value, 'base64').toString());
      expect(values.every((v) => v.length === 16 && v.startsWith('test#'))).toBe(true);
    } finally {
      await leader.close();
    }
  });

  it('counts failures by kind and keeps their latency out of the samples', async () => {
    const leader = await fakeLeader((_url, body) => ({ status: body.includes('#1') ? 503 : 200 }));
    try {
      const sample = await runStorm(spec(leader.url, { writes: 20, concurrency: 2 }), connections());
      // Writes #1 and #10..#19 carry "#1".
      expect(sample.failures).toEqual({ 'HTTP 503': 11 });
      expect(sample.succeeded).toBe(9);
      expect(sample.latenciesMs).toHaveLength(9);
    } finally {
      await leader.close();
    }
  });

  it('stops starting writes at the time limit and says it was cut short', async () => {
    const leader = await fakeLeader(() => ({ status: 200, delayMs: 30 }));
    try {
      const sample = await runStorm(spec(leader.url, { writes: 1000, concurrency: 2, timeLimitMs: 100 }), connections());
      expect(sample.cutShort).toBe(true);
      expect(sample.attempted).toBeLessThan(20);
      expect(sample.succeeded).toBe(sample.attempted);
    } finally {
      await leader.close();
    }
  });

  it('gives up on a write without an answer after the request timeout', async () => {
    const leader = await fakeLeader(() => ({ status: 200, delayMs: 2000 }));
    try {
      const sample = await runStorm(spec(leader.url, { writes: 2, concurrency: 2, requestTimeoutMs: 50 }), connections());
      expect(sample.failures).toEqual({ timeout: 2 });
    } finally {
      await leader.close();
    }
  });

  it('counts an answer whose body stops coming as a timeout, not a success', async () => {
    const sample = await stormTrickled({ chunks: 1, chunkBytes: 3, everyMs: 60_000, declared: 10 }, { writes: 4, concurrency: 2, requestTimeoutMs: 200 });
    expect(sample).toMatchObject({ succeeded: 0, failures: { timeout: 4 } });
  });

  it('counts an answer cut off in its body as a failure, not a success', async () => {
    const sample = await stormTrickled({ chunks: 10, chunkBytes: 10, everyMs: 5, cutAfter: 1 }, { writes: 4, concurrency: 2 });
    expect(sample.succeeded).toBe(0);
    expect(Object.values(sample.failures).reduce((a, b) => a + b, 0)).toBe(4);
    expect(sample.failures['timeout']).toBeUndefined();
  });

  it('times a write until its whole answer has arrived, however large', async () => {
    // 640 KiB over about 200 ms: more than undici's dump() reads before giving up.
    const sample = await stormTrickled({ chunks: 10, chunkBytes: 64 * 1024, everyMs: 20 }, { writes: 2, concurrency: 1 });
    expect(sample).toMatchObject({ succeeded: 2, failures: {} });
    expect(Math.min(...sample.latenciesMs)).toBeGreaterThanOrEqual(180);
  });

  it('counts a whole answer that arrives after the request timeout as a timeout (the timeout is a deadline, not an idle time)', async () => {
    // A byte every 40 ms: never idle for 300 ms, complete after about 400.
    const sample = await stormTrickled({ chunks: 10, chunkBytes: 1, everyMs: 40 }, { writes: 2, concurrency: 2, requestTimeoutMs: 300 });
    expect(sample).toMatchObject({ succeeded: 0, failures: { timeout: 2 } });
  });

  /** Storms a tcpLeader with 2 writes of 2 writers and a 300 ms request timeout; how long the storm took. */
  const stormRaw = async (answer: Parameters<typeof tcpLeader>[0]) => {
    const leader = await tcpLeader(answer);
    const shared = connections();
    try {
      const started = performance.now();
      const sample = await runStorm(spec(leader.url, { writes: 2, concurrency: 2, requestTimeoutMs: 300 }), shared);
      return { sample, elapsedMs: performance.now() - started };
    } finally {
      await shared.close();
      await leader.close();
    }
  };

  /** Writes `text` on the socket every 100 ms for 6 s: never idle long enough for undici's own timeouts. */
  const repeatFor = (socket: net.Socket, timers: Set<NodeJS.Timeout>, text: string) => {
    const every = setInterval(() => void (socket.destroyed || socket.write(text)), 100);
    timers.add(every);
    timers.add(setTimeout(() => clearInterval(every), 6000));
  };

  it('abandons an answer still coming at the deadline: a body that never ends does not hold the storm', async () => {
    const { sample, elapsedMs } = await stormRaw((socket, timers) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
      repeatFor(socket, timers, '1\r\nx\r\n');
    });
    expect(sample.failures).toEqual({ timeout: 2 });
    expect(elapsedMs).toBeLessThan(3000);
  });

  it('abandons 1xx answers that keep coming past the deadline', async () => {
    const { sample, elapsedMs } = await stormRaw((socket, timers) => repeatFor(socket, timers, 'HTTP/1.1 103 Early Hints\r\n\r\n'));
    expect(sample.failures).toEqual({ timeout: 2 });
    expect(elapsedMs).toBeLessThan(3000);
  });

  it('counts a 200 after a 1xx answer as a success', async () => {
    const { sample } = await stormRaw((socket) => void socket.write('HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}'));
    expect(sample).toMatchObject({ succeeded: 2, failures: {} });
  });

  it('never counts a 200 without a length as a success: cut off by a reset, undici would end it as whole', async () => {
    const { sample } = await stormRaw((socket, timers) => {
      socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{');
      timers.add(setTimeout(() => socket.resetAndDestroy(), 20));
    });
    expect(sample.succeeded).toBe(0);
    expect(Object.values(sample.failures).reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('names a whole 200 without a length as such', async () => {
    const { sample } = await stormRaw((socket) => void socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{}'));
    expect(sample).toMatchObject({ succeeded: 0, failures: { [UNFRAMED_ANSWER]: 2 } });
  });

  it('keeps the warm-up connections for the storm that follows, though the warm-up had fewer writes than writers', async () => {
    const leader = await fakeLeader(() => ({ status: 200, delayMs: 2 }));
    try {
      const shared = connections();
      await runStorm(spec(leader.url, { writes: 2, concurrency: 4 }), shared);
      const sample = await runStorm(spec(leader.url, { writes: 40, concurrency: 4 }), shared);
      expect(sample.succeeded).toBe(40);
      expect(leader.connections()).toBe(4);
    } finally {
      await leader.close();
    }
  });

  it('reports a refused connection as a failure, not an exception', async () => {
    const leader = await fakeLeader(() => ({ status: 200 }));
    await leader.close();
    const sample = await runStorm(spec(leader.url, { writes: 3, concurrency: 1 }), connections());
    expect(sample.failures).toEqual({ ECONNREFUSED: 3 });
    expect(sample.succeeded).toBe(0);
  });
});
