import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { VersionedStore } from '@kv/store';
import { MAX_VALUE_DEPTH } from '@kv/protocol';
import { FollowerReplica, type ReplicationTransport } from '@kv/replication';
import { nestedJson } from '@kv/node-kit/testing';
import { testLeader } from './test-leader';

// Regressions for what the fuzz test (fuzz.spec.ts) and the hand checks of issue 7 found.

function setup() {
  const urls = ['http://f1.test', 'http://f2.test'];
  const replicas = new Map(urls.map((url) => [url, new FollowerReplica(new VersionedStore(), url)]));
  const transport: ReplicationTransport = {
    async send(follower, req) {
      // Through JSON, as over HTTP: a value the leader accepts must survive the trip.
      return (replicas.get(follower) as FollowerReplica).receive(JSON.parse(JSON.stringify(req))).response;
    },
  };
  const { app, leader } = testLeader({ followers: urls, transport, writeQuorum: 2 });
  return { app, leader, replicas };
}

let current: ReturnType<typeof setup> | undefined;
afterEach(() => current?.leader.stop());
const fresh = () => (current = setup());

const putJson = (app: ReturnType<typeof setup>['app'], url: string, text: string) => request(app).put(url).set('Content-Type', 'application/json').send(text);

describe('leader: numbers JSON cannot carry', () => {
  it.each(['1e400', '-1e400', '[1, {"a": 1e999}]'])('refuses %s with 400 instead of storing null, changing nothing', async (value) => {
    const { app, leader } = fresh();
    const res = await putJson(app, '/kv/big', `{"value":${value}}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'INVALID_BODY', error: expect.stringMatching(/too large for a double/) });
    expect(leader.version).toBe(0);
    expect((await request(app).get('/kv/big')).status).toBe(404);
  });

  it('keeps the largest finite double exactly', async () => {
    const { app } = fresh();
    expect((await putJson(app, '/kv/max', '{"value":[1.7976931348623157e308,5e-324]}')).status).toBe(200);
    expect((await request(app).get('/kv/max')).body.value).toEqual([Number.MAX_VALUE, Number.MIN_VALUE]);
  });
});

describe('leader: deeply nested values', () => {
  it.each([
    ['100k nested arrays', nestedJson(100_000)],
    ['5k nested objects', nestedJson(5_000, 'object')],
    [`${MAX_VALUE_DEPTH + 1} nested arrays`, nestedJson(MAX_VALUE_DEPTH + 1)],
  ])('refuses %s with 400 (was 500), changing nothing', async (_name, deep) => {
    const { app, leader } = fresh();
    const res = await putJson(app, '/kv/deep', `{"value":${deep}}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'INVALID_BODY', error: expect.stringMatching(/more than 512 levels deep/) });
    expect(leader.version).toBe(0);
  });

  it(`stores, serves, lists and replicates a value nested exactly ${MAX_VALUE_DEPTH} deep`, async () => {
    const { app, replicas } = fresh();
    expect((await putJson(app, '/kv/deep?w=2', `{"value":${nestedJson(MAX_VALUE_DEPTH, 'object')}}`)).status).toBe(200);
    expect((await request(app).get('/kv/deep')).status).toBe(200);
    expect((await request(app).get('/kv')).body.items).toHaveLength(1);
    for (const replica of replicas.values()) expect(replica.appliedVersion).toBe(1);
  });
});

describe('leader: bodies that do not decode', () => {
  it.each([
    ['garbage', Buffer.from('garbage')],
    ['truncated gzip', gzipSync('{"value":1}').subarray(0, 12)],
  ])('answers gzip %s with 400 INVALID_BODY (was INVALID_KEY, "Bad Request")', async (_name, body) => {
    const { app, leader } = fresh();
    const res = await request(app)
      .put('/kv/k')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .serialize((b: unknown) => b as string)
      .send(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'INVALID_BODY', error: expect.stringMatching(/Content-Encoding/) });
    expect(leader.version).toBe(0);
  });

  it('accepts a well-formed gzip body', async () => {
    const { app } = fresh();
    const res = await request(app)
      .put('/kv/k')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .serialize((b: unknown) => b as string)
      .send(gzipSync('{"value":"zipped"}'));
    expect(res.status).toBe(200);
    expect((await request(app).get('/kv/k')).body.value).toBe('zipped');
  });
});

describe('leader: keys and bodies that mean something to JavaScript', () => {
  it.each(['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'prototype', '__defineGetter__'])('PUT, GET, list and DELETE key %s', async (key) => {
    const { app } = fresh();
    expect((await request(app).put(`/kv/${key}`).send({ value: { of: key } })).body).toMatchObject({ key, version: 1 });
    expect((await request(app).get(`/kv/${key}`)).body).toEqual({ key, value: { of: key }, version: 1 });
    expect((await request(app).get('/kv')).body.items).toEqual([{ key, value: { of: key }, version: 1 }]);
    expect((await request(app).get(`/kv?prefix=${key}&after=${key}`)).body).toEqual({ items: [], next: null });
    expect((await request(app).delete(`/kv/${key}`)).status).toBe(200);
    expect((await request(app).get(`/kv/${key}`)).status).toBe(404);
  });

  it('refuses __proto__ and constructor in the body as unknown properties (was "an unknown value was passed...")', async () => {
    const { app, leader } = fresh();
    for (const body of ['{"__proto__":{"value":1}}', '{"value":1,"__proto__":{"x":1}}', '{"value":1,"constructor":{"prototype":{}}}']) {
      const res = await putJson(app, '/kv/k', body);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/property (__proto__|constructor) should not exist/);
    }
    expect(leader.version).toBe(0);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it.each(['hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', '__defineGetter__'])(
    'refuses a query parameter named %s (an inherited method of every object) as unknown, on writes and listings',
    async (name) => {
      const { app, leader } = fresh();
      for (const res of [
        await request(app).put(`/kv/k?${name}=1`).send({ value: 1 }),
        await request(app).put(`/kv/k?w=1&${name}=1`).set('content-encoding', 'identity').send({ value: 1 }),
        await request(app).delete(`/kv/k?${name}=1`),
        await request(app).get(`/kv?${name}=1`),
      ]) {
        expect(res.status).toBe(400);
        expect(res.body.error).toContain(`property ${name} should not exist`);
      }
      expect(leader.version).toBe(0);
    },
  );

  it('keeps __proto__ inside a value as data', async () => {
    const { app } = fresh();
    expect((await putJson(app, '/kv/k', '{"value":{"__proto__":{"x":1}}}')).status).toBe(200);
    const res = await request(app).get('/kv/k');
    expect(res.text).toBe('{"key":"k","value":{"__proto__":{"x":1}},"version":1}');
  });

  it('takes %00 as a one-byte key', async () => {
    const { app } = fresh();
    expect((await request(app).put('/kv/%00').send({ value: 0 })).body.key).toBe('\u0000');
    expect((await request(app).get('/kv/%00')).body).toEqual({ key: '\u0000', value: 0, version: 1 });
  });
});

describe('leader: query strings', () => {
  it.each(['/kv/k?w[]=1', '/kv/k?w[a]=1', '/kv/k?w=1&w=1', '/kv/k?w=1e0', '/kv/k?__proto__=1', '/kv/k?__proto__=1&__proto__=2', '/kv/k?constructor=1'])(
    'refuses PUT %s with 400 INVALID_QUERY',
    async (url) => {
      const { app, leader } = fresh();
      const res = await request(app).put(url).send({ value: 1 });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('INVALID_QUERY');
      expect(leader.version).toBe(0);
    },
  );

  it.each(['?limit=1e3', '?limit[]=1', '?prefix[]=a', '?after[x]=1', '?limit=0x10', '?__proto__=x'])('refuses GET /kv%s with 400 INVALID_QUERY', async (query) => {
    const { app } = fresh();
    const res = await request(app).get(`/kv${query}`);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('INVALID_QUERY');
  });

  it('names at most ten problems, however many unknown fields a body has', async () => {
    const { app } = fresh();
    const body = Object.fromEntries([['value', 1], ...Array.from({ length: 500 }, (_, i) => [`field${i}`, i])]);
    const res = await request(app).put('/kv/k').send(body);
    expect(res.status).toBe(400);
    expect(res.body.problems).toHaveLength(10);
    expect(res.body.error).toMatch(/; and 490 more$/);
  });
});
