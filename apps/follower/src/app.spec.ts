import request from 'supertest';
import pino from 'pino';
import { VersionedStore } from '@kv/store';
import { FollowerReplica } from '@kv/replication';
import { createRegistry } from '@kv/node-kit';
import { createFollowerApp } from './app';

function setup(clusterToken: string | null = null) {
  const store = new VersionedStore();
  const replica = new FollowerReplica(store, 'follower-under-test');
  const app = createFollowerApp({
    store,
    replica,
    leaderUrl: 'http://leader:8000',
    clusterToken,
    logger: pino({ level: 'silent' }),
    registry: createRegistry({ defaultMetrics: false }),
  });
  return { app, store, replica };
}

const batch = (entries: object[], extra: object = {}) => ({ leaderEpoch: 10, entries, ...extra });
const put = (key: string, version: number, value: unknown = `v${version}`) => ({ key, version, deleted: false, value });

describe('follower probes (API.md, Probes)', () => {
  it('/livez is 200 at once; /readyz is 503 until it follows a leader and is caught up', async () => {
    const { app } = setup();
    expect((await request(app).get('/livez')).body).toEqual({ status: 'ok' });
    const before = await request(app).get('/readyz');
    expect(before.status).toBe(503);
    expect(before.body).toMatchObject({ status: 'not-ready', reason: 'has not heard from a leader since it started' });
    await request(app).post('/replicate').send(batch([put('a', 1)], { leaderVersion: 5 }));
    expect((await request(app).get('/readyz')).body).toMatchObject({ status: 'not-ready', reason: 'catching up: 4 versions behind its leader' });
    await request(app).post('/replicate').send(batch([put('b', 2), put('c', 3), put('d', 4), put('e', 5)], { leaderVersion: 5 }));
    const ready = await request(app).get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', appliedVersion: 5, leaderEpoch: 10 });
  });

  it('/readyz is 503 during a full resync', async () => {
    const { app } = setup();
    await request(app).post('/replicate').send(batch([put('a', 1)], { leaderVersion: 1 }));
    expect((await request(app).get('/readyz')).status).toBe(200);
    await request(app).post('/replicate').send({ ...batch([put('b', 2)]), leaderEpoch: 11, leaderVersion: 9, catchUp: { from: 0, through: 9, resync: 1 } });
    expect((await request(app).get('/readyz')).body).toMatchObject({ status: 'not-ready', reason: expect.stringMatching(/full resync/) });
  });
});

describe('follower', () => {
  it('refuses writes with 403 and the leader hint, before looking at the body', async () => {
    const { app } = setup();
    const writes = [request(app).put('/kv/a').send('{not json'), request(app).delete('/kv/a'), request(app).put('/kv/').send({ value: 1 }), request(app).delete('/kv/')];
    for (const res of await Promise.all(writes)) {
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ error: 'Only leader accepts writes', code: 'NOT_LEADER', leader: 'http://leader:8000' });
    }
  });

  it('refuses conditional writes with 403 too, whatever their condition, and answers ETag "<version>" on GET', async () => {
    const { app } = setup();
    const writes = [
      request(app).put('/kv/a?ifVersion=0').send({ value: 1 }),
      request(app).put('/kv/a?ifVersion=x').send({ value: 1 }),
      request(app).put('/kv/a').set('If-Match', '"3"').send({ value: 1 }),
      request(app).delete('/kv/a?ifVersion=0'),
      request(app).delete('/kv/a').set('If-None-Match', '*'),
    ];
    for (const res of await Promise.all(writes)) {
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: 'NOT_LEADER', leader: 'http://leader:8000' });
    }
    await request(app).post('/replicate').send(batch([put('a', 4)]));
    expect((await request(app).get('/kv/a')).headers['etag']).toBe('"4"');
  });

  it('applies replicated entries, serves them, and reports its applied version', async () => {
    const { app } = setup();
    const res = await request(app).post('/replicate').send(batch([put('b', 2), put('a', 1), { key: 'c', version: 3, deleted: true }]));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ followerId: 'follower-under-test', leaderEpoch: 10, leaderId: '', appliedVersion: 3, ranges: [], droppedThrough: 0, seenVersion: 0 });
    expect((await request(app).get('/kv/a')).body).toEqual({ key: 'a', value: 'v1', version: 1 });
    expect((await request(app).get('/kv/c')).status).toBe(404);
    expect((await request(app).get('/kv')).body.items).toHaveLength(2);
    expect((await request(app).get('/status')).body).toEqual({ role: 'follower', appliedVersion: 3, keys: 2 });
    expect((await request(app).get('/health')).body).toEqual({ status: 'ok', role: 'follower' });
  });

  it('never lets a late older write overwrite newer data', async () => {
    const { app } = setup();
    await request(app).post('/replicate').send(batch([put('a', 5, 'new')]));
    await request(app).post('/replicate').send(batch([put('a', 4, 'old')]));
    expect((await request(app).get('/kv/a')).body).toMatchObject({ value: 'new', version: 5 });
  });

  it('refuses an invalid replication request with 400 naming the problem, changing nothing', async () => {
    const { app, store } = setup();
    const res = await request(app).post('/replicate').send(batch([put('ok', 1), { key: 'x', version: -1, deleted: false, value: 1 }]));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('INVALID_BODY');
    expect(res.body.error).toMatch(/version must not be less than 1/);
    expect(store.keyCount).toBe(0);
  });

  it('refuses a stale leader epoch with 409, changing nothing', async () => {
    const { app, store } = setup();
    await request(app).post('/replicate').send(batch([put('a', 1)]));
    const res = await request(app).post('/replicate').send({ leaderEpoch: 9, entries: [put('b', 2)] });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('STALE_LEADER');
    expect(store.get('b')).toBeUndefined();
  });

  describe('with CLUSTER_TOKEN', () => {
    it('refuses a missing or wrong token with 401 before validating the body, changing nothing', async () => {
      const { app, store } = setup('s3cret');
      const missing = await request(app).post('/replicate').send(batch([put('a', 1)]));
      expect(missing.status).toBe(401);
      expect(missing.body.code).toBe('UNAUTHORIZED');
      const wrong = await request(app).post('/replicate').set('x-cluster-token', 'guess').send(batch([put('a', 1)]));
      expect(wrong.status).toBe(401);
      const wrongAndMalformed = await request(app).post('/replicate').set('x-cluster-token', 'guess').set('Content-Type', 'application/json').send('{oops');
      expect(wrongAndMalformed.status).toBe(401);
      expect(store.keyCount).toBe(0);
    });

    it('accepts the right token', async () => {
      const { app, store } = setup('s3cret');
      const res = await request(app).post('/replicate').set('x-cluster-token', 's3cret').send(batch([put('a', 1)]));
      expect(res.status).toBe(200);
      expect(store.keyCount).toBe(1);
    });
  });

  it('answers unknown routes, wrong methods and malformed JSON with JSON errors', async () => {
    const { app } = setup();
    expect((await request(app).get('/nope')).body.code).toBe('ROUTE_NOT_FOUND');
    expect((await request(app).get('/replicate')).status).toBe(405);
    const malformed = await request(app).post('/replicate').set('Content-Type', 'application/json').send('{oops');
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('MALFORMED_JSON');
    const metrics = await request(app).get('/metrics');
    expect(metrics.text).toMatch(/kv_applied_version 0/);
  });
});

describe('follower OPTIONS', () => {
  it.each([
    ['/kv/a', 'GET, PUT, DELETE'],
    ['/replicate', 'POST'],
    ['/health', 'GET'],
  ])('answers OPTIONS %s with 204 and the methods it takes, as a 405 there names them', async (path, allow) => {
    const { app } = setup();
    const options = await request(app).options(path);
    expect(options.status).toBe(204);
    expect(options.headers.allow).toBe(allow);
    const refused = await request(app).patch(path);
    expect(refused.status).toBe(405);
    expect(refused.headers.allow).toBe(allow);
  });
});
