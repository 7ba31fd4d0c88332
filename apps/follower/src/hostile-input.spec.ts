import { gzipSync } from 'node:zlib';
import request from 'supertest';
import pino from 'pino';
import { VersionedStore } from '@kv/store';
import { MAX_VALUE_DEPTH, ReplicateRequest } from '@kv/protocol';
import { FollowerReplica } from '@kv/replication';
import { createRegistry } from '@kv/node-kit';
import { nestedJson } from '@kv/node-kit/testing';
import { createFollowerApp } from './app';

// Regressions for what the fuzz test (fuzz.spec.ts) and the hand checks of issue 7 found.

const TOKEN = 's3cret';

function setup() {
  const store = new VersionedStore();
  const replica = new FollowerReplica(store, 'follower-under-test');
  const app = createFollowerApp({
    store,
    replica,
    leaderUrl: null,
    clusterToken: TOKEN,
    logger: pino({ level: 'silent' }),
    registry: createRegistry({ defaultMetrics: false }),
  });
  // One applied entry, so "changes nothing" has something to keep.
  replica.receive(ReplicateRequest.parse({ leaderEpoch: 5, entries: [{ key: 'kept', version: 1, deleted: false, value: 'v1' }] }));
  return { app, store, replica };
}

const replicate = (app: ReturnType<typeof setup>['app'], text: string) =>
  request(app).post('/replicate').set('Content-Type', 'application/json').set('x-cluster-token', TOKEN).send(text);

function expectUnchanged({ app, store, replica }: ReturnType<typeof setup>) {
  expect(replica.leaderEpoch).toBe(5);
  expect(replica.appliedVersion).toBe(1);
  expect(store.keyCount).toBe(1);
  return request(app)
    .get('/kv/kept')
    .then((res) => expect(res.body).toEqual({ key: 'kept', value: 'v1', version: 1 }));
}

describe('follower: hostile replication requests', () => {
  it.each([
    ['an entry that is 100k nested arrays', `{"leaderEpoch":5,"entries":[${nestedJson(100_000)}]}`],
    ['an entry that is 3k nested arrays', `{"leaderEpoch":5,"entries":[${nestedJson(3_000)}]}`],
    ['entries that are 100k nested arrays', `{"leaderEpoch":5,"entries":${nestedJson(100_000)}}`],
    ['a catchUp that is nested arrays', `{"leaderEpoch":5,"entries":[],"catchUp":${nestedJson(10_000)}}`],
  ])('refuses %s with 400 (was 500: stack overflow in validation)', async (_name, body) => {
    const node = setup();
    const res = await replicate(node.app, body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'INVALID_BODY', error: expect.stringMatching(/must be a JSON object/) });
    await expectUnchanged(node);
  });

  it.each([
    ['100k nested arrays', nestedJson(100_000)],
    ['5k nested arrays', nestedJson(5_000)],
    [`${MAX_VALUE_DEPTH + 1} nested objects`, nestedJson(MAX_VALUE_DEPTH + 1, 'object')],
  ])('refuses a value of %s with 400 (was stored, then every GET and listing answered 500)', async (_name, deep) => {
    const node = setup();
    const res = await replicate(node.app, `{"leaderEpoch":5,"entries":[{"key":"deep","version":2,"deleted":false,"value":${deep}}]}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/more than 512 levels deep/);
    await expectUnchanged(node);
    expect((await request(node.app).get('/kv')).status).toBe(200);
  });

  it.each([
    ['leaderEpoch', '{"leaderEpoch":1e300,"entries":[]}'],
    ['version', '{"leaderEpoch":5,"entries":[{"key":"a","version":1e300,"deleted":true}]}'],
    ['catchUp', '{"leaderEpoch":5,"entries":[],"catchUp":{"from":0,"through":1e300}}'],
  ])('refuses a %s beyond exact integers (an epoch of 1e300 was adopted and locked out the real leader)', async (_name, body) => {
    const node = setup();
    const res = await replicate(node.app, body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/must not be greater than 9007199254740991/);
    await expectUnchanged(node);
  });

  it('refuses __proto__ where the request or an entry has fields', async () => {
    const node = setup();
    for (const body of [
      '{"__proto__":{"leaderEpoch":5,"entries":[]}}',
      '{"leaderEpoch":5,"entries":[{"__proto__":{"key":"a","version":2,"deleted":false,"value":1}}]}',
      '{"leaderEpoch":5,"entries":[{"key":"a","version":2,"deleted":false,"value":1,"__proto__":{}}]}',
      '{"leaderEpoch":5,"entries":[],"catchUp":{"__proto__":{"from":0,"through":9}}}',
    ]) {
      const res = await replicate(node.app, body);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/property __proto__ should not exist/);
    }
    await expectUnchanged(node);
  });

  it('answers a batch of 20,000 junk entries with a short message', async () => {
    const node = setup();
    const res = await replicate(node.app, `{"leaderEpoch":5,"entries":[${Array(20_000).fill('1').join(',')}]}`);
    expect(res.status).toBe(400);
    expect(res.text.length).toBeLessThan(2000);
    await expectUnchanged(node);
  });

  it('answers a gzip body that does not decode with 400 INVALID_BODY (was INVALID_KEY)', async () => {
    const node = setup();
    const res = await request(node.app)
      .post('/replicate')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .set('x-cluster-token', TOKEN)
      .serialize((b: unknown) => b as string)
      .send(gzipSync('{"leaderEpoch":5,"entries":[]}').subarray(0, 12));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('INVALID_BODY');
    await expectUnchanged(node);
  });

  it('checks the token before decoding the body', async () => {
    const node = setup();
    const res = await request(node.app)
      .post('/replicate')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .set('x-cluster-token', 'wrong')
      .send('not gzip, not JSON');
    expect(res.status).toBe(401);
    await expectUnchanged(node);
  });

  it('replicates, serves and lists keys named __proto__ and constructor', async () => {
    const node = setup();
    const entries = [
      { key: '__proto__', version: 2, deleted: false, value: { a: 1 } },
      { key: 'constructor', version: 3, deleted: false, value: 'c' },
    ];
    expect((await replicate(node.app, JSON.stringify({ leaderEpoch: 5, entries }))).status).toBe(200);
    expect((await request(node.app).get('/kv/__proto__')).body).toEqual({ key: '__proto__', value: { a: 1 }, version: 2 });
    expect((await request(node.app).get('/kv/constructor')).body).toEqual({ key: 'constructor', value: 'c', version: 3 });
    expect((await request(node.app).get('/kv')).body.items.map((i: { key: string }) => i.key)).toEqual(['__proto__', 'constructor', 'kept']);
  });
});
