import request from 'supertest';
import { ReplicateResponse, type ReplicateRequest } from '@kv/protocol';
import type { ReplicationTransport } from '@kv/replication';
import { testLeader } from './test-leader';

/** Followers that answer at once, or refuse when `down` holds their URL. */
function fakeFollowers(count: number) {
  const down = new Set<string>();
  /** Followers that never answer (a paused process). */
  const silent = new Set<string>();
  const urls = Array.from({ length: count }, (_, i) => `http://f${i + 1}.test`);
  const transport: ReplicationTransport = {
    async send(follower: string, req: ReplicateRequest) {
      if (down.has(follower)) throw new Error('connect ECONNREFUSED');
      if (silent.has(follower)) return new Promise<ReplicateResponse>(() => undefined);
      const applied = req.catchUp ? req.catchUp.through : Math.max(0, ...req.entries.map((e) => e.version));
      return Object.assign(new ReplicateResponse(), { followerId: follower, leaderEpoch: req.leaderEpoch, appliedVersion: applied });
    },
  };
  return { urls, down, silent, transport };
}

function setup(options: { followers?: number; writeQuorum?: number; timeoutMs?: number } = {}) {
  const fake = fakeFollowers(options.followers ?? 5);
  const { app, leader } = testLeader({ followers: fake.urls, transport: fake.transport, writeQuorum: options.writeQuorum ?? 3, replicationTimeoutMs: options.timeoutMs ?? 2000 });
  return { app, leader, fake };
}

/** A raw JSON body, exactly as given: supertest would re-serialize an object compactly. */
const putText = (app: ReturnType<typeof setup>['app'], url: string, text: string) => request(app).put(url).set('Content-Type', 'application/json').send(text);

let current: ReturnType<typeof setup> | undefined;
afterEach(() => current?.leader.stop());
const fresh = (options?: Parameters<typeof setup>[0]) => (current = setup(options));

describe('leader writes', () => {
  it('PUT answers key, version, acks and quorum; GET returns the value', async () => {
    const { app } = fresh();
    const put = await request(app).put('/kv/hello').send({ value: { nested: [1, 'two', null] } });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ key: 'hello', version: 1, acks: 3, quorum: 3 });
    const get = await request(app).get('/kv/hello');
    expect(get.body).toEqual({ key: 'hello', value: { nested: [1, 'two', null] }, version: 1 });
  });

  it('accepts null, false and 0 as values, whatever the content type', async () => {
    const { app } = fresh();
    for (const value of [null, false, 0]) {
      const res = await request(app).put('/kv/k').set('Content-Type', 'text/plain').send(JSON.stringify({ value }));
      expect(res.status).toBe(200);
      expect((await request(app).get('/kv/k')).body.value).toBe(value);
    }
  });

  it('assigns strictly increasing versions across PUT and DELETE', async () => {
    const { app } = fresh();
    const versions: number[] = [];
    versions.push((await request(app).put('/kv/a').send({ value: 1 })).body.version);
    versions.push((await request(app).put('/kv/b').send({ value: 1 })).body.version);
    versions.push((await request(app).delete('/kv/a')).body.version);
    versions.push((await request(app).put('/kv/a').send({ value: 2 })).body.version);
    expect(versions).toEqual([1, 2, 3, 4]);
    expect((await request(app).get('/kv/a')).body.version).toBe(4);
  });

  it('honours ?w= from 0 to the follower count', async () => {
    const { app } = fresh();
    expect((await request(app).put('/kv/a?w=0').send({ value: 1 })).body).toMatchObject({ acks: 0, quorum: 0 });
    expect((await request(app).put('/kv/a?w=5').send({ value: 1 })).body).toMatchObject({ acks: 5, quorum: 5 });
    expect((await request(app).delete('/kv/a?w=1')).body).toMatchObject({ acks: 1, quorum: 1 });
  });

  it('takes an empty ?w= as no w: the configured quorum', async () => {
    const { app } = fresh();
    const res = await request(app).put('/kv/k?w=').send({ value: 1 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ quorum: 3, acks: 3 });
  });

  it('DELETE of an absent key is 404 and uses no version', async () => {
    const { app, leader } = fresh();
    const res = await request(app).delete('/kv/ghost');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'KEY_NOT_FOUND', key: 'ghost' });
    expect(leader.version).toBe(0);
  });

  it('answers 503 with the contract fields when the quorum cannot be reached, and keeps the write', async () => {
    const { app, fake } = fresh();
    fake.urls.slice(0, 3).forEach((u) => fake.down.add(u));
    const res = await request(app).put('/kv/k').send({ value: 'kept' });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ key: 'k', version: 1, quorum: 3, code: 'QUORUM_NOT_REACHED' });
    expect(res.body.acks).toBeLessThan(3);
    expect(typeof res.body.error).toBe('string');
    expect((await request(app).get('/kv/k')).body).toMatchObject({ value: 'kept', version: 1 });
  });

  it('answers 503 at the replication timeout when followers are silent', async () => {
    const { app, fake } = fresh({ timeoutMs: 100 });
    fake.urls.forEach((u) => fake.silent.add(u));
    const res = await request(app).put('/kv/k?w=2').send({ value: 1 });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ acks: 0, quorum: 2, version: 1 });
  });
});

describe('leader refuses bad input and changes nothing', () => {
  const cases: Array<[string, (app: ReturnType<typeof setup>['app']) => request.Test, number, string]> = [
    ['a body without value', (app) => request(app).put('/kv/k').send({ val: 1 }), 400, 'INVALID_BODY'],
    ['a body that is not an object', (app) => request(app).put('/kv/k').send([1]), 400, 'INVALID_BODY'],
    ['a body that is a bare string', (app) => request(app).put('/kv/k').set('Content-Type', 'application/json').send('"v"'), 400, 'MALFORMED_JSON'],
    ['an empty body', (app) => request(app).put('/kv/k'), 400, 'INVALID_BODY'],
    ['malformed JSON', (app) => request(app).put('/kv/k').set('Content-Type', 'application/json').send('{"value":'), 400, 'MALFORMED_JSON'],
    ['a key over 256 bytes', (app) => request(app).put(`/kv/${'k'.repeat(257)}`).send({ value: 1 }), 400, 'INVALID_KEY'],
    ['w above the follower count', (app) => request(app).put('/kv/k?w=6').send({ value: 1 }), 400, 'INVALID_QUERY'],
    ['w negative', (app) => request(app).put('/kv/k?w=-1').send({ value: 1 }), 400, 'INVALID_QUERY'],
    ['w not a number', (app) => request(app).put('/kv/k?w=all').send({ value: 1 }), 400, 'INVALID_QUERY'],
    ['w twice', (app) => request(app).put('/kv/k?w=1&w=2').send({ value: 1 }), 400, 'INVALID_QUERY'],
    ['bad percent-encoding', (app) => request(app).put('/kv/%E0%A4%A').send({ value: 1 }), 400, 'MALFORMED_URL'],
    ['a value over 1 MiB', (app) => request(app).put('/kv/k').send({ value: 'x'.repeat(1_048_575) }), 413, 'VALUE_TOO_LARGE'],
    ['a value over 1 MiB only when escaped', (app) => putText(app, '/kv/k', `{"value":"${'\\u00e9'.repeat(524_288)}"}`), 413, 'VALUE_TOO_LARGE'],
    ['a body far over the limit', (app) => request(app).put('/kv/k').send({ value: 'x'.repeat(6_400_000) }), 413, 'PAYLOAD_TOO_LARGE'],
  ];

  it.each(cases)('%s', async (_name, send, status, code) => {
    const { app, leader } = fresh();
    const res = await send(app);
    expect(res.status).toBe(status);
    expect(res.type).toBe('application/json');
    expect(res.body.code).toBe(code);
    expect(typeof res.body.error).toBe('string');
    expect(leader.version).toBe(0);
    expect(leader.store.keyCount).toBe(0);
  });

  it('accepts a value of exactly 1 MiB serialized', async () => {
    const { app } = fresh();
    const res = await request(app).put('/kv/k?w=0').send({ value: 'x'.repeat(1_048_574) });
    expect(res.status).toBe(200);
  });

  it('accepts a value of 1 MiB serialized however the client escapes and spaces it', async () => {
    const { app } = fresh();
    // 524,287 × é is 1,048,574 bytes of UTF-8 plus quotes; escaped as Python sends it, a 3 MiB body.
    const escaped = await putText(app, '/kv/e?w=0', `{"value": "${'\\u00e9'.repeat(524_287)}"}`);
    expect(escaped.status).toBe(200);
    expect(Buffer.byteLength(JSON.stringify((await request(app).get('/kv/e')).body.value))).toBe(1_048_576);
    // Python's default separators, a space after every comma: a 1.5 MiB body for a value just under 1 MiB.
    const spaced = await putText(app, '/kv/s?w=0', `{"value": [${Array(524_287).fill('1').join(', ')}]}`);
    expect(spaced.status).toBe(200);
    expect(Buffer.byteLength(JSON.stringify((await request(app).get('/kv/s')).body.value))).toBe(1_048_575);
  });

  it('accepts keys of 256 bytes and UTF-8 keys, percent-encoded', async () => {
    const { app } = fresh();
    expect((await request(app).put(`/kv/${'k'.repeat(256)}`).send({ value: 1 })).status).toBe(200);
    expect((await request(app).put(`/kv/${encodeURIComponent('clé/ü')}`).send({ value: 1 })).body.key).toBe('clé/ü');
    expect((await request(app).get(`/kv/${encodeURIComponent('clé/ü')}`)).body.value).toBe(1);
  });
});

describe('leader reads, listing and operations', () => {
  it('holds a write once it is applied: minVersion of it answers at once, a later one waits for the next write (API.md, Read-your-writes)', async () => {
    const { app } = fresh();
    const written = await request(app).put('/kv/a?w=0').send({ value: 1 });
    const mine = await request(app).get(`/kv/a?minVersion=${written.body.version}`);
    expect(mine.status).toBe(200);
    expect(mine.headers['x-applied-version']).toBe(String(written.body.version));
    const waiting = request(app).get('/kv?minVersion=2&timeout=5000').then((res) => res);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await request(app).put('/kv/b?w=0').send({ value: 2 });
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(res.headers['x-applied-version']).toBe('2');
    expect(res.body.items).toHaveLength(2);
    const behind = await request(app).get('/kv/a?minVersion=3&timeout=0');
    expect(behind.status).toBe(503);
    expect(behind.body).toMatchObject({ code: 'NOT_CAUGHT_UP', appliedVersion: 2, minVersion: 3 });
  });

  it('GET of an absent key is 404 JSON', async () => {
    const { app } = fresh();
    const res = await request(app).get('/kv/none');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'KEY_NOT_FOUND' });
  });

  it('takes GET /kv?prefix=&after=&limit= (the contract\'s template, left empty) as a plain listing', async () => {
    const { app } = fresh();
    for (const key of ['b', 'a']) await request(app).put(`/kv/${key}?w=0`).send({ value: key });
    const res = await request(app).get('/kv?prefix=&after=&limit=');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [{ key: 'a', value: 'a', version: 2 }, { key: 'b', value: 'b', version: 1 }], next: null });
  });

  it('lists by prefix in byte order with after, limit and next', async () => {
    const { app } = fresh();
    for (const key of ['b', 'a2', 'a1', 'a3', 'c']) await request(app).put(`/kv/${key}?w=0`).send({ value: key });
    await request(app).delete('/kv/a2?w=0');
    const first = await request(app).get('/kv?prefix=a&limit=1');
    expect(first.body).toEqual({ items: [{ key: 'a1', value: 'a1', version: 3 }], next: 'a1' });
    const second = await request(app).get('/kv?prefix=a&after=a1');
    expect(second.body).toEqual({ items: [{ key: 'a3', value: 'a3', version: 4 }], next: null });
    expect((await request(app).get('/kv')).body.items.map((i: { key: string }) => i.key)).toEqual(['a1', 'a3', 'b', 'c']);
  });

  it.each(['0', '10001', 'ten', '1.5'])('refuses limit=%s', async (limit) => {
    const { app } = fresh();
    const res = await request(app).get(`/kv?limit=${limit}`);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('INVALID_QUERY');
  });

  it('answers health, status and metrics', async () => {
    const { app } = fresh();
    await request(app).put('/kv/a').send({ value: 1 });
    expect((await request(app).get('/health')).body).toEqual({ status: 'ok', role: 'leader' });
    const status = (await request(app).get('/status')).body;
    expect(status).toMatchObject({ role: 'leader', version: 1, keys: 1, writeQuorum: 3 });
    expect(status.followers).toHaveLength(5);
    expect(Object.keys(status.followers[0]).sort()).toEqual(['ackedVersion', 'lag', 'lastError', 'state', 'url']);
    const metrics = await request(app).get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/kv_write_duration_seconds_count\{op="put",quorum="3",outcome="ok"\} 1/);
    expect(metrics.text).toMatch(/kv_follower_lag\{follower="http:\/\/f1.test"\}/);
    expect(metrics.text).toMatch(/kv_version 1/);
  });

  it('answers unknown routes and methods with JSON, never HTML', async () => {
    const { app } = fresh();
    const unknown = await request(app).get('/nowhere');
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('ROUTE_NOT_FOUND');
    const method = await request(app).post('/kv/a');
    expect(method.status).toBe(405);
    expect(method.headers.allow).toBe('GET, PUT, DELETE');
    const replicate = await request(app).post('/replicate').send({});
    expect(replicate.status).toBe(403);
    expect(replicate.body.code).toBe('NOT_FOLLOWER');
  });

  it('refuses writes to the empty key (/kv/) with 400 INVALID_KEY and uses no version', async () => {
    const { app, leader } = fresh();
    const writes = [
      () => request(app).put('/kv/').send({ value: 1 }),
      () => request(app).delete('/kv/'),
      () => request(app).put('/kv/?w=1').send({ value: 1 }),
      // Express matches /KV/a as /kv/a, so /KV/ is the empty key too.
      () => request(app).put('/KV/').send({ value: 1 }),
    ];
    for (const send of writes) {
      const answer = await send();
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ code: 'INVALID_KEY', error: 'key must be 1 to 256 bytes of UTF-8 (got 0)' });
    }
    expect(leader.version).toBe(0);
    // The collection itself still takes only GET.
    expect((await request(app).put('/kv').send({ value: 1 })).status).toBe(405);
  });

  it('with CLUSTER_TOKEN set, answers replication without the token 401, as followers do', async () => {
    const fake = fakeFollowers(1);
    const { app, leader } = testLeader({ followers: fake.urls, transport: fake.transport, writeQuorum: 1, clusterToken: 's3cret' });
    current = { app, leader, fake };
    const missing = await request(app).post('/replicate').send({ leaderEpoch: 9, entries: [] });
    expect(missing.status).toBe(401);
    expect(missing.body.code).toBe('UNAUTHORIZED');
    const wrong = await request(app).post('/replicate').set('x-cluster-token', 'guess').send({});
    expect(wrong.status).toBe(401);
    const right = await request(app).post('/replicate').set('x-cluster-token', 's3cret').send({});
    expect(right.status).toBe(403);
    expect(right.body.code).toBe('NOT_FOLLOWER');
  });
});

describe('leader OPTIONS', () => {
  it.each([
    ['/kv/a', 'GET, PUT, DELETE'],
    ['/kv', 'GET'],
    ['/status', 'GET'],
    ['/replicate', 'POST'],
  ])('answers OPTIONS %s with 204 and the methods it takes, as a 405 there names them', async (path, allow) => {
    const { app } = fresh();
    const options = await request(app).options(path);
    expect(options.status).toBe(204);
    expect(options.headers.allow).toBe(allow);
    expect(options.text).toBe('');
    const refused = await request(app).patch(path);
    expect(refused.status).toBe(405);
    expect(refused.headers.allow).toBe(allow);
  });
});
