import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ReplicateRequest } from '@kv/protocol';
import { ReplicationStreams } from './replication-stream';

/**
 * A follower serving the replication stream as the real one does in one respect that matters
 * here: it applies frames one after another, in the order sent, and answers each when applied.
 * `costMs(line)` is how long applying a frame takes; with `endOnRequestEnd: false` it never
 * ends a stream the leader ended (a follower that misbehaves). `open()` counts streams open.
 */
async function serialFollower(costMs: (line: string) => number, { endOnRequestEnd = true } = {}) {
  const timers = new Set<NodeJS.Timeout>();
  let open = 0;
  const server = http.createServer((req, res) => {
    open++;
    res.on('close', () => open--);
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.flushHeaders();
    let partial = '';
    let busyUntil = Date.now();
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const { id } = JSON.parse(line) as { id: number };
        busyUntil = Math.max(busyUntil, Date.now()) + costMs(line);
        const answer = `${JSON.stringify({ id, status: 200, body: { followerId: 'f', leaderEpoch: 1, appliedVersion: 0 } })}\n`;
        const timer = setTimeout(() => void (res.destroyed || res.write(answer)), busyUntil - Date.now());
        timers.add(timer);
      }
    });
    if (endOnRequestEnd) req.on('end', () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    open: () => open,
    stop: async () => {
      timers.forEach((timer) => clearTimeout(timer));
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const heartbeat = ReplicateRequest.parse({ leaderEpoch: 1, entries: [] });
const bigBatch = ReplicateRequest.parse({ leaderEpoch: 1, entries: [1, 2].map((v) => ({ key: `k${v}`, version: v, deleted: false, value: 'x'.repeat(1_100_000) })) });
const settle = (answer: Promise<unknown>) => answer.then(() => 'answered', (error: Error) => error.message);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ReplicationStreams: one deadline, the oldest frame’s, from when it became the oldest', () => {
  it('lets a heartbeat sent behind a batch of MiBs wait for the batch: both answered, not the stream failed at the heartbeat’s own timeout', async () => {
    // The batch takes 600 ms to apply (its deadline 1200 ms); the heartbeat 10 ms after it (its own 400 ms).
    const follower = await serialFollower((line) => (line.length > 1_000_000 ? 600 : 10));
    const streams = new ReplicationStreams({ clusterToken: null });
    try {
      const batch = settle(streams.send(follower.url, bigBatch, 'rep-1', 1200));
      await sleep(50);
      const beat = settle(streams.send(follower.url, heartbeat, 'rep-2', 400));
      expect([await batch, await beat]).toEqual(['answered', 'answered']);
    } finally {
      streams.close();
      await follower.stop();
    }
  });

  it('fails the stream, and every frame in flight, when the oldest frame is not answered within its timeout', async () => {
    const follower = await serialFollower(() => 1000);
    const streams = new ReplicationStreams({ clusterToken: null });
    try {
      const started = Date.now();
      const first = settle(streams.send(follower.url, heartbeat, 'rep-1', 200));
      const second = settle(streams.send(follower.url, heartbeat, 'rep-2', 200));
      expect([await first, await second]).toEqual(['timeout: no answer within the request timeout', 'timeout: no answer within the request timeout']);
      expect(Date.now() - started).toBeLessThan(900);
    } finally {
      streams.close();
      await follower.stop();
    }
  });

  /** Sends a heartbeat, ages the stream past its 60 s, and sends another: the first stream is retired, a second opened. */
  async function retireOne(streams: ReplicationStreams, url: string) {
    const realNow = Date.now;
    const now = jest.spyOn(Date, 'now');
    try {
      expect(await settle(streams.send(url, heartbeat, 'rep-1', 1000))).toBe('answered');
      now.mockImplementation(() => realNow() + 61_000);
      expect(await settle(streams.send(url, heartbeat, 'rep-2', 1000))).toBe('answered');
    } finally {
      now.mockRestore();
    }
  }

  it('drops a retired stream the follower never ends, once its frames are answered and the linger is over', async () => {
    const follower = await serialFollower(() => 1, { endOnRequestEnd: false });
    const streams = new ReplicationStreams({ clusterToken: null, retiredLingerMs: 100 });
    try {
      await retireOne(streams, follower.url);
      for (let i = 0; i < 200 && follower.open() > 1; i++) await sleep(10);
      expect(follower.open()).toBe(1);
    } finally {
      streams.close();
      await follower.stop();
    }
  });

  it('drops retired streams on close(), as it drops the open ones', async () => {
    const follower = await serialFollower(() => 1, { endOnRequestEnd: false });
    const streams = new ReplicationStreams({ clusterToken: null, retiredLingerMs: 60_000 });
    try {
      await retireOne(streams, follower.url);
      expect(follower.open()).toBe(2);
      streams.close();
      for (let i = 0; i < 200 && follower.open() > 0; i++) await sleep(10);
      expect(follower.open()).toBe(0);
    } finally {
      streams.close();
      await follower.stop();
    }
  });

  it.each([
    ['an answer line that is JSON but not an object', 200, 'null\n', 'invalid answer from follower: a malformed stream frame'],
    ['an answer line that is an array', 200, '[1]\n', 'invalid answer from follower: a malformed stream frame'],
    ['a refusal whose body is null', 503, 'null', 'HTTP 503'],
    ['a refusal whose reason is 60 KB', 503, JSON.stringify({ error: 'r'.repeat(60_000) }), `HTTP 503: ${'r'.repeat(512)}…`],
  ])('fails the frames in flight on %s, and the leader goes on', async (_name, status, text, message) => {
    const server = http.createServer((req, res) => {
      req.resume();
      res.writeHead(status, { 'content-type': 'application/x-ndjson' });
      if (status === 200) req.once('data', () => res.write(text));
      else res.end(text);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const streams = new ReplicationStreams({ clusterToken: null });
    try {
      expect(await settle(streams.send(url, heartbeat, 'rep-1', 2000))).toBe(message);
    } finally {
      streams.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
