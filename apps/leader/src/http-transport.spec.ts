import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { VersionedStore } from '@kv/store';
import { REPLICATION_PATH, REPLICATION_STREAM_PATH, ReplicateRequest } from '@kv/protocol';
import { FollowerReplica } from '@kv/replication';
import { errorHandler, jsonBody, requestContext, requireClusterToken, routeNotFound, type Logger } from '@kv/node-kit';
import { captureLogs, type LogLine } from '@kv/node-kit/testing';
import type { LogLevel } from '@kv/node-kit';
import { createHttpTransport } from './http-transport';
import { createRequestSerializer } from './replication-stream';
import { testLeader } from './test-leader';

/** Serves a replication stream: answers 200 at once, then calls `onFrame` for every frame line the leader sends. */
function serveFrames(req: IncomingMessage, res: ServerResponse, onFrame: (frame: { id: number; requestId: string; body: unknown }) => void): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  res.flushHeaders();
  let partial = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onFrame(JSON.parse(line) as { id: number; requestId: string; body: unknown });
  });
}

/** A follower stand-in over real HTTP (the follower app is another project): token, parse, apply. */
async function standInFollower(token: string, { stream = true } = {}) {
  const seenIds: string[] = [];
  const replica = new FollowerReplica(new VersionedStore(), 'stand-in');
  const silent = captureLogs('silent').logger;
  const app = express();
  app.use(requestContext(silent));
  app.post(REPLICATION_PATH, requireClusterToken(token), jsonBody(1 << 20), (req, res) => {
    seenIds.push(String(req.get('x-request-id')));
    res.json(replica.receive(ReplicateRequest.parse(req.body)).response);
  });
  // The stream as the follower serves it (apps/follower/src/replication-stream.ts): a frame per line, an answer per frame.
  if (stream) app.post(REPLICATION_STREAM_PATH, requireClusterToken(token), (req, res) => {
    serveFrames(req, res, (frame) => {
      seenIds.push(frame.requestId);
      res.write(`${JSON.stringify({ id: frame.id, status: 200, body: replica.receive(ReplicateRequest.parse(frame.body)).response })}\n`);
    });
    req.on('end', () => res.end());
  });
  app.use(routeNotFound);
  app.use(errorHandler(silent));
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seenIds, server };
}

function leaderOver(followerUrl: string, clusterToken: string, logger: Logger, stream: boolean) {
  const transport = createHttpTransport({ clusterToken, requestTimeoutMs: 2000, logger, stream });
  const { app, leader } = testLeader({ followers: [followerUrl], transport, writeQuorum: 1, logger });
  return { app, leader, close: () => (leader.stop(), transport.close()) };
}

describe.each([
  ['a POST per request', { leaderStreams: false, followerStreams: true }],
  ['the replication stream', { leaderStreams: true, followerStreams: true }],
  ['POSTs to a follower without the stream route', { leaderStreams: true, followerStreams: false }],
])('replication request ids and their log lines, over %s', (_name, { leaderStreams, followerStreams }) => {
  let follower: Awaited<ReturnType<typeof standInFollower>>;
  const started: Array<() => void> = [];
  const start = (token: string, level: LogLevel) => {
    const logs = captureLogs(level, 'leader');
    const node = leaderOver(follower.url, token, logs.logger, leaderStreams);
    started.push(node.close);
    return { ...node, lines: logs.lines };
  };

  beforeEach(async () => {
    follower = await standInFollower('tok', { stream: followerStreams });
  });
  afterEach(async () => {
    started.splice(0).forEach((close) => close());
    await new Promise((resolve) => follower.server.close(resolve));
  });

  const replicationLines = (lines: LogLine[]) => lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('replication request'));

  /** Until its first answer a follower gets only heartbeats; a write after that travels as an append. */
  const untilUp = async (leader: { status(): Array<{ state: string }> }) => {
    for (let i = 0; i < 200 && leader.status()[0].state !== 'up'; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  };

  it("ties a client's request id to its version, and the version to the replication request that carried it", async () => {
    const { app, leader, lines } = start('tok', 'debug');
    await untilUp(leader);
    const res = await request(app).put('/kv/traced').set('x-request-id', 'client-42').send({ value: 1 });
    expect(res.body).toMatchObject({ version: 1, acks: 1 });

    expect(lines.filter((l) => l.msg === 'request')).toEqual([expect.objectContaining({ requestId: 'client-42', method: 'PUT', version: 1, level: 20 })]);
    const carried = replicationLines(lines).filter((l) => l.kind === 'append');
    expect(carried).toEqual([
      expect.objectContaining({
        level: 20,
        msg: 'replication request answered',
        requestId: expect.stringMatching(/^rep-[0-9a-f]{8}-\d+$/),
        follower: follower.url,
        versions: '1',
        entries: 1,
        appliedVersion: 1,
      }),
    ]);
    // The follower saw the same id: its log line names it with the versions it applied.
    expect(follower.seenIds).toContain(carried[0].requestId);
    expect(new Set(follower.seenIds).size).toBe(follower.seenIds.length);
  });

  it('sends the id but writes no replication line when debug is off', async () => {
    const { app, lines } = start('tok', 'info');
    expect((await request(app).put('/kv/quiet').send({ value: 1 })).status).toBe(200);
    expect(lines).toEqual([]);
    expect(follower.seenIds.length).toBeGreaterThan(0);
    expect(follower.seenIds.every((id) => /^rep-[0-9a-f]{8}-\d+$/.test(id))).toBe(true);
  });

  it('logs each refused request with the reason /status shows, and the write answers 503', async () => {
    const { app, leader, lines } = start('not-the-token', 'trace');
    const res = await request(app).put('/kv/refused').send({ value: 1 });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ code: 'QUORUM_NOT_REACHED', acks: 0 });
    const failed = replicationLines(lines).filter((l) => l.msg === 'replication request failed');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]).toMatchObject({ error: 'HTTP 401: wrong x-cluster-token', follower: follower.url });
    expect(leader.status()[0].lastError).toBe('HTTP 401: wrong x-cluster-token');
  });

  it('logs heartbeats at trace only', async () => {
    const debug = start('tok', 'debug');
    const trace = start('tok', 'trace');
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(replicationLines(debug.lines).filter((l) => l.kind === 'heartbeat')).toEqual([]);
    expect(replicationLines(trace.lines).filter((l) => l.kind === 'heartbeat')[0]).toMatchObject({ level: 10, versions: '' });
  });
});

/** Listens on a free loopback port; `stop` clears the answer timers, drops every connection and closes. */
async function onLoopback(server: Server, timers: Set<NodeJS.Timeout>) {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      timers.forEach((timer) => clearTimeout(timer));
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('a follower whose answer keeps trickling in', () => {
  /** Answers every POST with a 200 whose JSON body never ends (a space every 20 ms): never idle for a socket timeout. */
  async function tricklingFollower() {
    const http = await import('node:http');
    const timers = new Set<NodeJS.Timeout>();
    const server = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"position":');
      const timer = setInterval(() => void (res.destroyed || res.write(' ')), 20);
      timers.add(timer);
      res.on('close', () => clearInterval(timer));
    });
    return onLoopback(server, timers);
  }

  it('fails a recovery read and a replication POST at the request timeout: a deadline, not an idle time', async () => {
    const follower = await tricklingFollower();
    const transport = createHttpTransport({ clusterToken: null, requestTimeoutMs: 200, stream: false });
    try {
      const started = Date.now();
      await expect(transport.entries(follower.url, 0, 1)).rejects.toThrow(/^timeout: no answer within the request timeout/);
      await expect(transport.send(follower.url, ReplicateRequest.parse({ leaderEpoch: 1, entries: [] }))).rejects.toThrow(/^timeout: no answer within the request timeout/);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      transport.close();
      await follower.stop();
    }
  });
});

describe('a stream follower that answers each frame after a while', () => {
  /** Serves the replication stream, answering every frame `delayMs` after it arrived (a busy follower applying large batches). */
  async function slowStreamFollower(delayMs: number) {
    const http = await import('node:http');
    const timers = new Set<NodeJS.Timeout>();
    const answer = (id: number) => `${JSON.stringify({ id, status: 200, body: { followerId: 'slow', leaderEpoch: 1, appliedVersion: 0 } })}\n`;
    const server = http.createServer((req, res) =>
      serveFrames(req, res, ({ id }) => {
        timers.add(setTimeout(() => void (res.destroyed || res.write(answer(id))), delayMs));
      }),
    );
    return onLoopback(server, timers);
  }

  it('gives a frame carrying MiBs the time a POST of it gets (one more request timeout per MiB); a heartbeat the base', async () => {
    const follower = await slowStreamFollower(600);
    const transport = createHttpTransport({ clusterToken: null, requestTimeoutMs: 400, stream: true });
    const big = 'x'.repeat(1_100_000);
    const batch = ReplicateRequest.parse({ leaderEpoch: 1, entries: [1, 2].map((v) => ({ key: `k${v}`, version: v, deleted: false, value: big })) });
    try {
      // 2.2 MiB: a deadline of 3 × 400 ms, answered after 600.
      await expect(transport.send(follower.url, batch)).resolves.toMatchObject({ appliedVersion: 0 });
      await expect(transport.send(follower.url, ReplicateRequest.parse({ leaderEpoch: 1, entries: [] }))).rejects.toThrow(/^timeout: no answer within the request timeout/);
    } finally {
      transport.close();
      await follower.stop();
    }
  });
});

describe('requestTimeout', () => {
  it('gives a batch one more request timeout per MiB it carries; a heartbeat gets the base', async () => {
    const { requestTimeout } = await import('./http-transport');
    const heartbeat = ReplicateRequest.parse({ leaderEpoch: 1, entries: [] });
    expect(requestTimeout(2000, heartbeat)).toBe(2000);
    const big = 'x'.repeat(1_000_000);
    const batch = ReplicateRequest.parse({ leaderEpoch: 1, entries: [1, 2, 3].map((v) => ({ key: `k${v}`, version: v, deleted: false, value: big })) });
    expect(requestTimeout(2000, batch)).toBe(2000 * 3);
  });
});

describe('the replication request serializer', () => {
  it('writes what JSON.stringify writes, each entry serialized once for all followers', () => {
    const serialize = createRequestSerializer();
    const entries = [
      { key: 'a', version: 1, deleted: false, value: { nested: ['x', 1, null, true] } },
      { key: 'b"\u2028', version: 2, deleted: true },
      { key: 'big', version: 3, deleted: false, value: 'v'.repeat(20_000) },
    ];
    // Entries last, so the text is the same as JSON.stringify's, not only its meaning.
    const requests = [
      Object.assign(new ReplicateRequest(), { leaderEpoch: 2, leaderId: 'abc', leaderVersion: 3, droppedThrough: 0, entries }),
      Object.assign(new ReplicateRequest(), { leaderEpoch: 2, catchUp: { from: 0, through: 3, resync: 1, done: false }, entries: entries.slice(1) }),
      Object.assign(new ReplicateRequest(), { leaderEpoch: 2, entries: [] }),
    ];
    for (const request of requests) {
      // Twice: the second time from the cache.
      for (let i = 0; i < 2; i++) expect(serialize(request)).toBe(JSON.stringify(request));
    }
  });
});
