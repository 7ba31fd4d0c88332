import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import pino from 'pino';
import { EventSource } from 'eventsource';
import { VersionedStore } from '@kv/store';
import { FollowerReplica } from '@kv/replication';
import { WatchHub, createRegistry } from '@kv/node-kit';
import { createFollowerApp } from './app';

interface Seen {
  type: string;
  id: string;
  data: Record<string, unknown>;
}

async function setup(options: { maxBufferedBytes?: number } = {}) {
  const store = new VersionedStore();
  const replica = new FollowerReplica(store, 'f');
  const registry = createRegistry({ defaultMetrics: false });
  const watchHub = new WatchHub({ store, registry, keepAliveMs: 50, maxBufferedBytes: options.maxBufferedBytes });
  const app = createFollowerApp({ store, replica, leaderUrl: null, clusterToken: null, logger: pino({ level: 'silent' }), registry, watchHub });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { app, store, replica, registry, watchHub, server, url };
}

const put = (key: string, version: number, value: unknown = `v${version}`) => ({ key, version, deleted: false, value });
const del = (key: string, version: number) => ({ key, version, deleted: true });

/** An EventSource that records put, delete and reset events. */
function watch(url: string, init?: { headers?: Record<string, string> }) {
  const seen: Seen[] = [];
  const source = new EventSource(url, {
    fetch: (input, requestInit) => fetch(input, { ...requestInit, headers: { ...(requestInit?.headers as Record<string, string>), ...init?.headers } }),
  });
  for (const type of ['put', 'delete', 'reset']) {
    source.addEventListener(type, (event) => seen.push({ type, id: event.lastEventId, data: JSON.parse(event.data) as Record<string, unknown> }));
  }
  const opened = new Promise<void>((resolve, reject) => {
    source.onopen = () => resolve();
    source.onerror = (error) => reject(new Error(`watch failed: ${error.message ?? error.code}`));
  });
  return { source, seen, opened };
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let current: Awaited<ReturnType<typeof setup>> | undefined;
const sources: EventSource[] = [];
afterEach(async () => {
  sources.splice(0).forEach((s) => s.close());
  current?.watchHub.closeAll();
  current?.server.closeAllConnections();
  await new Promise((resolve) => current?.server.close(resolve));
});

describe('follower GET /watch (API.md, Watch)', () => {
  it('streams only what the watermark covers, in version order, as it advances', async () => {
    const node = (current = await setup());
    const w = watch(`${node.url}/watch`);
    sources.push(w.source);
    await w.opened;
    await request(node.app).post('/replicate').send({ leaderEpoch: 1, entries: [put('a', 2), del('b', 3)] });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(w.seen).toEqual([]); // version 1 is missing: nothing above the watermark is told
    await request(node.app).post('/replicate').send({ leaderEpoch: 1, entries: [put('b', 1)] });
    await until(() => w.seen.length === 2);
    // b@1 was superseded by its delete within the same watermark step: coalesced per step.
    expect(w.seen).toEqual([
      { type: 'put', id: '2', data: { key: 'a', value: 'v2', version: 2 } },
      { type: 'delete', id: '3', data: { key: 'b', version: 3 } },
    ]);
  });

  it('fromVersion=0 gives every live key, then live changes; Last-Event-ID wins over fromVersion; a prefix filters', async () => {
    const node = (current = await setup());
    await request(node.app).post('/replicate').send({ leaderEpoch: 1, entries: [put('x1', 1), put('y1', 2), del('x1', 3), put('x2', 4)] });
    const all = watch(`${node.url}/watch?fromVersion=0`);
    const resumed = watch(`${node.url}/watch?fromVersion=0&prefix=x`, { headers: { 'Last-Event-ID': '3' } });
    sources.push(all.source, resumed.source);
    await Promise.all([all.opened, resumed.opened]);
    await request(node.app).post('/replicate').send({ leaderEpoch: 1, entries: [put('x3', 5)] });
    await until(() => all.seen.length === 3 && resumed.seen.length === 2);
    expect(all.seen.map((e) => `${e.type}:${e.id}`)).toEqual(['put:2', 'put:4', 'put:5']);
    expect(resumed.seen.map((e) => `${e.type}:${e.id}`)).toEqual(['put:4', 'put:5']);
  });

  it('from an old version tells the deletes since it (coalesced), and answers 410 below the tombstone horizon', async () => {
    const node = (current = await setup());
    await request(node.app).post('/replicate').send({ leaderEpoch: 1, entries: [put('a', 1), put('b', 2), del('a', 3), put('b', 4), del('b', 5), put('c', 6)] });
    const since = watch(`${node.url}/watch?fromVersion=1`);
    sources.push(since.source);
    await since.opened;
    await until(() => since.seen.length === 3);
    expect(since.seen.map((e) => `${e.type}:${e.data.key}:${e.id}`)).toEqual(['delete:a:3', 'delete:b:5', 'put:c:6']);
    await request(node.app).post('/replicate').send({ leaderEpoch: 1, entries: [], droppedThrough: 3 });
    const gone = await request(node.app).get('/watch?fromVersion=2');
    expect(gone.status).toBe(410);
    expect(gone.body).toEqual({ error: expect.any(String), code: 'HISTORY_COMPACTED', oldestVersion: 3 });
    expect((await request(node.app).get('/watch?fromVersion=x')).status).toBe(400);
    expect((await request(node.app).get('/watch?from=1')).status).toBe(400);
  });

  it('ends streams with event: reset when a full resync empties the store, and counts it', async () => {
    const node = (current = await setup());
    await request(node.app).post('/replicate').send({ leaderEpoch: 1, leaderId: 'L1', entries: [put('a', 1)] });
    const w = watch(`${node.url}/watch?fromVersion=0`);
    sources.push(w.source);
    await w.opened;
    await until(() => w.seen.length === 1);
    await request(node.app).post('/replicate').send({ leaderEpoch: 2, leaderId: 'L2', entries: [put('z', 9)], catchUp: { from: 0, through: 9, resync: 1 } }).expect(200);
    await until(() => w.seen.some((e) => e.type === 'reset'));
    expect(w.seen[1]).toMatchObject({ type: 'reset', data: { reason: 'resync', message: expect.any(String) } });
    const metrics = (await request(node.app).get('/metrics')).text;
    expect(metrics).toMatch(/kv_watchers_dropped_total\{reason="resync"\} 1/);
  });

  it('drops a watcher that does not read once its buffer passes the cap, with a metric; /metrics shows open watchers', async () => {
    const node = (current = await setup({ maxBufferedBytes: 4 * 1024 * 1024 }));
    const reader = watch(`${node.url}/watch`);
    sources.push(reader.source);
    await reader.opened;
    // A raw client that never reads its socket.
    const { request: httpRequest } = await import('node:http');
    const stuck = httpRequest(`${node.url}/watch`);
    stuck.on('response', (res) => res.pause());
    stuck.on('error', () => undefined);
    stuck.end();
    await until(() => node.watchHub.size === 2);
    expect((await request(node.app).get('/metrics')).text).toMatch(/^kv_watchers 2$/m);
    const big = 'x'.repeat(20_000);
    let version = 0;
    for (let i = 0; i < 300 && node.watchHub.size === 2; i++) {
      const entries = Array.from({ length: 20 }, () => put(`k${version}`, ++version, big));
      await fetch(`${node.url}/replicate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ leaderEpoch: 1, entries }) });
      await new Promise((resolve) => setTimeout(resolve, 30)); // one flush each, which the reading watcher takes
    }
    await until(() => node.watchHub.size === 1, 15_000);
    expect((await request(node.app).get('/metrics')).text).toMatch(/kv_watchers_dropped_total\{reason="slow-consumer"\} 1/);
    stuck.destroy();
  });
});
