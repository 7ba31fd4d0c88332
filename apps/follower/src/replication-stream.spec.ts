import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { VersionedStore } from '@kv/store';
import { FollowerReplica } from '@kv/replication';
import { createRegistry } from '@kv/node-kit';
import { createFollowerApp } from './app';
import type { ReplicationStreams } from './replication-stream';

/** A follower app on a real port: a stream is one long request, which supertest cannot hold open. */
async function listeningFollower(clusterToken: string | null = 'tok') {
  const store = new VersionedStore();
  const replica = new FollowerReplica(store, 'stream-follower');
  let streams: ReplicationStreams | undefined;
  const app = createFollowerApp({
    store,
    replica,
    leaderUrl: null,
    clusterToken,
    logger: pino({ level: 'silent' }),
    registry: createRegistry({ defaultMetrics: false }),
    onStreams: (created) => (streams = created),
  });
  const server = await new Promise<Server>((resolve) => {
    const listening = http.createServer(app).listen(0, '127.0.0.1', () => resolve(listening));
  });
  return { store, replica, streams: () => streams as ReplicationStreams, port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))) };
}

/** Opens a stream, writes `frames` (raw text), and collects the answer lines until the stream ends or `count` arrived. */
function stream(port: number, headers: Record<string, string>, frames: string[], count: number, end = true) {
  return new Promise<{ status: number; lines: Array<{ id: number | null; status: number; body: Record<string, unknown> }> }>((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path: '/replicate/stream', method: 'POST', headers }, (response) => {
      let text = '';
      const lines: Array<{ id: number | null; status: number; body: Record<string, unknown> }> = [];
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
        const complete = text.split('\n');
        text = complete.pop() ?? '';
        lines.push(...complete.map((line) => JSON.parse(line) as (typeof lines)[number]));
        if (lines.length >= count && !end) {
          request.destroy();
          resolve({ status: response.statusCode ?? 0, lines });
        }
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, lines: text ? [...lines, JSON.parse(text) as (typeof lines)[number]] : lines }));
    });
    request.on('error', (error) => (end ? reject(error) : undefined));
    for (const frame of frames) request.write(frame);
    if (end) request.end();
  });
}

const frame = (id: number, body: unknown) => `${JSON.stringify({ id, requestId: `rep-test-${id}`, body })}\n`;
const put = (key: string, version: number) => ({ key, version, deleted: false, value: `v${version}` });

describe('POST /replicate/stream (replication frames on one request)', () => {
  const opened: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const close of opened.splice(0)) await close();
  });
  const start = async (token: string | null = 'tok') => {
    const follower = await listeningFollower(token);
    opened.push(follower.close);
    return follower;
  };

  it('applies each frame as POST /replicate would and answers each by id, frames split across writes included', async () => {
    const { port, store, replica } = await start();
    const first = frame(1, { leaderEpoch: 3, entries: [put('a', 1), put('b', 2)] });
    const second = frame(2, { leaderEpoch: 3, entries: [put('c', 3)] });
    const { status, lines } = await stream(port, { 'x-cluster-token': 'tok' }, [first.slice(0, 10), first.slice(10) + second.slice(0, 5), second.slice(5)], 2);
    expect(status).toBe(200);
    expect(lines.map((l) => [l.id, l.status])).toEqual([[1, 200], [2, 200]]);
    expect(lines[1].body).toMatchObject({ followerId: 'stream-follower', leaderEpoch: 3, appliedVersion: 3 });
    expect(replica.appliedVersion).toBe(3);
    expect(store.get('c')).toMatchObject({ value: 'v3' });
  });

  it('answers a refused frame with the status and body POST /replicate would give, and goes on with the next', async () => {
    const { port, replica } = await start();
    const { lines } = await stream(port, { 'x-cluster-token': 'tok' }, [
      frame(1, { leaderEpoch: 5, entries: [put('a', 1)] }),
      frame(2, { leaderEpoch: 5, entries: [{ key: '', version: 2, deleted: false, value: 1 }] }),
      frame(3, { leaderEpoch: 4, entries: [put('z', 9)] }),
      frame(4, { leaderEpoch: 5, entries: [put('b', 2)] }),
    ], 4);
    const byId = new Map(lines.map((l) => [l.id, l]));
    expect(byId.get(1)?.status).toBe(200);
    expect(byId.get(2)).toMatchObject({ status: 400, body: { code: 'INVALID_BODY' } });
    expect(byId.get(3)).toMatchObject({ status: 409, body: { code: 'STALE_LEADER' } });
    expect(byId.get(4)).toMatchObject({ status: 200, body: { appliedVersion: 2 } });
    expect(replica.appliedVersion).toBe(2);
  });

  it('refuses the stream with 401 before reading anything when the token is missing or wrong', async () => {
    const { port, replica } = await start();
    for (const headers of [{}, { 'x-cluster-token': 'nope' }] as Array<Record<string, string>>) {
      const { status, lines } = await stream(port, headers, [frame(1, { leaderEpoch: 1, entries: [put('a', 1)] })], 1);
      expect(status).toBe(401);
      expect(lines[0]).toMatchObject({ code: 'UNAUTHORIZED' });
    }
    expect(replica.appliedVersion).toBe(0);
  });

  it('ends open streams on shutdown once their frames are answered, and refuses new ones', async () => {
    const { port, streams } = await start(null);
    const ended = stream(port, {}, [frame(1, { leaderEpoch: 1, entries: [put('a', 1)] })], 1, false);
    await ended;
    const held = new Promise<{ status: number; lines: unknown[] }>((resolve) => {
      const request = http.request({ host: '127.0.0.1', port, path: '/replicate/stream', method: 'POST' }, (response) => {
        const lines: unknown[] = [];
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, lines }));
      });
      request.write(frame(7, { leaderEpoch: 1, entries: [put('b', 2)] }));
      setTimeout(() => streams().stop(), 100);
    });
    const result = await held;
    expect(result.status).toBe(200);
    expect(result.lines).toHaveLength(1);
    const after = await stream(port, {}, [], 0);
    expect(after.status).toBe(503);
  });
});
