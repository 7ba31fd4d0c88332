import request from 'supertest';
import pino from 'pino';
import { VersionedStore } from '@kv/store';
import { FollowerReplica } from '@kv/replication';
import { MAX_LIST_PAGE_BYTES } from '@kv/protocol';
import { createRegistry } from '@kv/node-kit';
import { createFollowerApp } from './app';

function setup() {
  const store = new VersionedStore();
  const replica = new FollowerReplica(store, 'follower-under-test');
  const app = createFollowerApp({ store, replica, leaderUrl: null, clusterToken: null, logger: pino({ level: 'silent' }), registry: createRegistry({ defaultMetrics: false }) });
  return { app, store, replica };
}
const batch = (entries: object[]) => ({ leaderEpoch: 1, entries });
const put = (key: string, version: number, value: unknown = `v${version}`) => ({ key, version, deleted: false, value });

describe('follower read-your-writes (API.md)', () => {
  it('answers at once with X-Applied-Version when it already holds minVersion', async () => {
    const { app } = setup();
    await request(app).post('/replicate').send(batch([put('a', 1), put('b', 2)]));
    const res = await request(app).get('/kv/a?minVersion=2');
    expect(res.status).toBe(200);
    expect(res.headers['x-applied-version']).toBe('2');
    const list = await request(app).get('/kv?minVersion=0');
    expect(list.status).toBe(200);
    expect(list.headers['x-applied-version']).toBe('2');
  });

  it('waits for the watermark, not for the version alone: version 3 above a gap does not answer minVersion=3', async () => {
    const { app } = setup();
    await request(app).post('/replicate').send(batch([put('a', 1), put('c', 3)]));
    const started = Date.now();
    const reading = request(app).get('/kv/c?minVersion=3&timeout=5000');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await request(app).post('/replicate').send(batch([put('b', 2)]));
    const res = await reading;
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ key: 'c', value: 'v3', version: 3 });
    expect(res.headers['x-applied-version']).toBe('3');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('answers 503 NOT_CAUGHT_UP after the timeout, and at once with timeout=0', async () => {
    const { app } = setup();
    await request(app).post('/replicate').send(batch([put('a', 1)]));
    const started = Date.now();
    const res = await request(app).get('/kv/a?minVersion=5&timeout=150');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: expect.any(String), code: 'NOT_CAUGHT_UP', appliedVersion: 1, minVersion: 5 });
    const atOnce = await request(app).get('/kv?minVersion=5&timeout=0');
    expect(atOnce.status).toBe(503);
    expect(atOnce.body).toMatchObject({ code: 'NOT_CAUGHT_UP', appliedVersion: 1, minVersion: 5 });
  });

  it.each([
    ['minVersion=-1'],
    ['minVersion=1.5'],
    ['minVersion=x'],
    ['minVersion=9007199254740992'],
    ['minVersion=1&minVersion=2'],
    ['timeout=10001'],
    ['timeout=-5'],
    ['timeout=1e3'],
  ])('refuses %s with 400 INVALID_QUERY on both reads', async (query) => {
    const { app } = setup();
    for (const path of ['/kv/a', '/kv']) {
      const res = await request(app).get(`${path}?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('INVALID_QUERY');
    }
  });

  it('still ignores unknown parameters on a single-key GET, and refuses them on a listing', async () => {
    const { app } = setup();
    await request(app).post('/replicate').send(batch([put('a', 1)]));
    expect((await request(app).get('/kv/a?whatever=1&timeout=10000')).status).toBe(200);
    expect((await request(app).get('/kv?whatever=1')).status).toBe(400);
  });

  it('bounds a listing page by bytes: fewer items than limit, next set, and the pages cover everything', async () => {
    const { app } = setup();
    const value = 'x'.repeat(1024 * 1024 - 2);
    const count = 10;
    for (let i = 0; i < count; i++) await request(app).post('/replicate').send(batch([put(`k${i}`, i + 1, value)])).expect(200);
    const keys: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const res: request.Response = await request(app).get(`/kv?limit=10000${after === null ? '' : `&after=${after}`}`);
      expect(res.status).toBe(200);
      expect(Buffer.byteLength(res.text)).toBeLessThanOrEqual(MAX_LIST_PAGE_BYTES + 64 * 1024);
      keys.push(...(res.body.items as Array<{ key: string }>).map((item) => item.key));
      after = res.body.next as string | null;
      pages++;
    } while (after !== null);
    expect(pages).toBe(2);
    expect(keys).toEqual(Array.from({ length: count }, (_, i) => `k${i}`));
  });
});
