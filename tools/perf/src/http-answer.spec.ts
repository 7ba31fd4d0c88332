import http from 'node:http';
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

  describe('the storm reads that use it, against a node whose answer trickles for ever', () => {
    it('a convergence read is an error at its timeout', async () => {
      const url = await serve(trickleForever(' ', 20));
      const agent = new http.Agent({ keepAlive: true });
      try {
        await expect(readKey(agent, url, 'k', 200)).resolves.toEqual({ kind: 'error', reason: 'no whole answer within 200 ms' });
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
