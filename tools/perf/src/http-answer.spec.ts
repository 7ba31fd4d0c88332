import http from 'node:http';
import net from 'node:net';
import { etcdPost } from './etcd-cluster';
import { requestAnswer } from './http-answer';
import { readKey } from './node-reader';
import { readReplicationCounters } from './replication-metrics';
import { rawServer, trickleForever, type LoopbackServer } from './testing/loopback-servers';

describe('requestAnswer: a deadline on the whole answer, and a bound on its size', () => {
  const servers: LoopbackServer[] = [];
  const serve = async (answer: Parameters<typeof rawServer>[0]) => {
    const server = await rawServer(answer);
    servers.push(server);
    return server.url;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  it('resolves with the status and the whole body, a JSON body sent with its length', async () => {
    let seen = '';
    const url = await serve((res) => res.writeHead(201).end('made'));
    const echo = http.createServer((req, res) => {
      req.on('data', (chunk: Buffer) => (seen += chunk.toString()));
      req.on('end', () => res.writeHead(200).end(`${req.method} ${req.headers['content-length']}`));
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = echo.address() as { port: number };
      await expect(requestAnswer(`http://127.0.0.1:${port}/x`, { method: 'POST', json: { a: 1 }, timeoutMs: 2000, maxBytes: 100 })).resolves.toEqual({ status: 200, text: 'POST 7' });
      expect(seen).toBe('{"a":1}');
      await expect(requestAnswer(url, { timeoutMs: 2000, maxBytes: 4 })).resolves.toEqual({ status: 201, text: 'made' });
    } finally {
      await new Promise((resolve) => echo.close(resolve));
    }
  });

  it('fails an answer that keeps trickling in at the deadline, naming the URL', async () => {
    const url = await serve(trickleForever(' ', 20));
    const started = Date.now();
    await expect(requestAnswer(`${url}/slow`, { timeoutMs: 200, maxBytes: 1 << 20 })).rejects.toThrow(`${url}/slow: no whole answer within 200 ms`);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('fails an answer longer than maxBytes instead of reading it all', async () => {
    const url = await serve(trickleForever('x'.repeat(16 * 1024), 5));
    await expect(requestAnswer(url, { timeoutMs: 5000, maxBytes: 64 * 1024 })).rejects.toThrow(`${url}/: answer over 65536 bytes`);
  });

  it('fails a body cut off before its declared length, and a refused connection, naming the error', async () => {
    const url = await serve((res, timers) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('{"version":');
      timers.add(setTimeout(() => res.destroy(), 20));
    });
    await expect(requestAnswer(url, { timeoutMs: 2000, maxBytes: 1 << 20 })).rejects.toThrow(new RegExp(`^${url}/: (answer cut off|aborted)`));
    const gone = await serve((res) => res.end());
    await servers.pop()?.close();
    await expect(requestAnswer(gone, { timeoutMs: 2000, maxBytes: 10 })).rejects.toThrow(/ECONNREFUSED/);
  });

  it('runs the deadline from when a request gets its connection: reads queued behind a few sockets are not timed out by the queue', async () => {
    // 60 reads through one socket, each answered in 20 ms: 1.2 s in all against a 1 s deadline each.
    const url = await serve((res, timers) => void timers.add(setTimeout(() => res.writeHead(200, { 'content-length': '2' }).end('ok'), 20)));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const answers = await Promise.allSettled(Array.from({ length: 60 }, () => requestAnswer(url, { agent, timeoutMs: 1000, maxBytes: 10 })));
      expect(answers.filter((a) => a.status === 'fulfilled')).toHaveLength(60);
    } finally {
      agent.destroy();
    }
  });

  it('refuses a 200 without a length (ended by the close, it cannot be told whole from cut off)', async () => {
    const tcp = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nkv_replicated_entries_total 5'));
    });
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(tcp.address() as net.AddressInfo).port}/metrics`;
    try {
      await expect(requestAnswer(url, { timeoutMs: 2000, maxBytes: 1000 })).rejects.toThrow(`${url}: answer without a length`);
      await expect(readReplicationCounters(url.replace('/metrics', ''), 2000)).resolves.toBeNull();
    } finally {
      await new Promise((resolve) => tcp.close(resolve));
    }
  });

  it('takes a timeout longer than a timer holds (2^31 ms and more) as that long, not as at once', async () => {
    const url = await serve((res) => res.writeHead(200, { 'content-length': '2' }).end('ok'));
    for (const timeoutMs of [2 ** 31, Number.POSITIVE_INFINITY]) {
      await expect(requestAnswer(url, { timeoutMs, maxBytes: 10 })).resolves.toEqual({ status: 200, text: 'ok' });
    }
  });

  describe('the storm reads that use it, against a node whose answer trickles for ever', () => {
    it('a convergence read is an error at its timeout', async () => {
      const url = await serve(trickleForever(' ', 20));
      const agent = new http.Agent({ keepAlive: true });
      try {
        await expect(readKey(agent, url, 'k', 200)).resolves.toEqual({ kind: 'error', reason: 'no whole answer within 200 ms', timedOut: true });
      } finally {
        agent.destroy();
      }
    });

    it("the leader's replication counters are null at their timeout", async () => {
      const url = await serve(trickleForever('# x\n', 20));
      await expect(readReplicationCounters(url, 200)).resolves.toBeNull();
    });

    it("an etcd gateway's answer is an error at its timeout", async () => {
      const url = await serve(trickleForever(' ', 20));
      await expect(etcdPost(url, '/v3/maintenance/status', {}, 200)).rejects.toThrow('no whole answer within 200 ms');
    });
  });
});
