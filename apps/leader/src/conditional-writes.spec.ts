import request from 'supertest';
import { ReplicateResponse, type ReplicateRequest } from '@kv/protocol';
import type { ReplicationTransport } from '@kv/replication';
import { VirtualClock, flushMicrotasks } from '@kv/replication/testing';
import { testLeader } from './test-leader';

/** Followers that answer at once, or refuse the connection while `down` holds their URL; every request is kept. */
function fakeFollowers(count: number) {
  const down = new Set<string>();
  const sent: ReplicateRequest[] = [];
  const urls = Array.from({ length: count }, (_, i) => `http://f${i + 1}.test`);
  const transport: ReplicationTransport = {
    async send(follower: string, req: ReplicateRequest) {
      sent.push(req);
      if (down.has(follower)) throw new Error('connect ECONNREFUSED');
      const applied = req.catchUp ? req.catchUp.through : Math.max(0, ...req.entries.map((e) => e.version));
      return Object.assign(new ReplicateResponse(), { followerId: follower, leaderEpoch: req.leaderEpoch, appliedVersion: applied });
    },
  };
  const entriesSent = () => sent.reduce((n, r) => n + r.entries.length, 0);
  return { urls, down, transport, entriesSent };
}

type Options = { minFollowersToWrite?: number; clock?: VirtualClock; inSyncMaxLagMs?: number };
let stop: (() => void) | undefined;
afterEach(() => stop?.());

function setup(options: Options = {}) {
  const fake = fakeFollowers(5);
  const built = testLeader({ followers: fake.urls, transport: fake.transport, writeQuorum: 1, ...options });
  stop = () => built.leader.stop();
  return { ...built, fake };
}

const put = (app: ReturnType<typeof setup>['app'], url: string, value: unknown = 1) => request(app).put(url).send({ value });
const INVALID = { code: 'INVALID_QUERY' };

describe('conditional writes (compare-and-set)', () => {
  it('GET answers ETag "<version>"; ifVersion=0 creates only; ifVersion=N writes only at version N', async () => {
    const { app } = setup();
    expect((await put(app, '/kv/k?ifVersion=0', 'a')).body).toMatchObject({ key: 'k', version: 1 });
    const get = await request(app).get('/kv/k');
    expect(get.headers['etag']).toBe('"1"');
    const again = await put(app, '/kv/k?ifVersion=0', 'b');
    expect(again.status).toBe(412);
    expect(again.body).toEqual({ error: expect.any(String), code: 'VERSION_MISMATCH', key: 'k', version: 1 });
    expect((await put(app, '/kv/k?ifVersion=1', 'c')).body).toMatchObject({ version: 2 });
    expect((await request(app).get('/kv/k')).body).toEqual({ key: 'k', value: 'c', version: 2 });
  });

  it('a mismatch answers 412 with the current version and changes nothing: no version used, nothing replicated', async () => {
    const { app, leader, fake } = setup();
    await put(app, '/kv/k', 'a');
    await flushMicrotasks();
    const sentBefore = fake.entriesSent();
    const stale = await put(app, '/kv/k?ifVersion=7&w=5', 'b');
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ code: 'VERSION_MISMATCH', key: 'k', version: 1 });
    expect(stale.body.error).toMatch(/version 1, not 7/);
    const del = await request(app).delete('/kv/k?ifVersion=2');
    expect(del.status).toBe(412);
    await flushMicrotasks();
    expect(leader.version).toBe(1);
    expect(fake.entriesSent()).toBe(sentBefore);
    expect((await request(app).get('/kv/k')).body.value).toBe('a');
    expect((await put(app, '/kv/j')).body.version).toBe(2);
  });

  it('a conditional DELETE of an absent key is 412 with version 0; of the current version, deletes', async () => {
    const { app } = setup();
    const absent = await request(app).delete('/kv/gone?ifVersion=3');
    expect(absent.status).toBe(412);
    expect(absent.body).toMatchObject({ code: 'VERSION_MISMATCH', key: 'gone', version: 0 });
    await put(app, '/kv/k');
    expect((await request(app).delete('/kv/k?ifVersion=1')).body).toMatchObject({ key: 'k', version: 2 });
    expect((await request(app).get('/kv/k')).status).toBe(404);
    // Deleted reads as absent: create-only passes again.
    expect((await put(app, '/kv/k?ifVersion=0')).body.version).toBe(3);
  });

  it('takes the HTTP form: If-Match: "N", If-Match: *, If-None-Match: *', async () => {
    const { app } = setup();
    expect((await put(app, '/kv/k').set('If-None-Match', '*')).body.version).toBe(1);
    expect((await put(app, '/kv/k').set('If-None-Match', '*')).status).toBe(412);
    const etag = (await request(app).get('/kv/k')).headers['etag'] as string;
    expect((await put(app, '/kv/k').set('If-Match', etag)).body.version).toBe(2);
    const stale = await put(app, '/kv/k').set('If-Match', etag);
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ code: 'VERSION_MISMATCH', version: 2 });
    expect((await put(app, '/kv/k').set('If-Match', '*')).body.version).toBe(3);
    expect((await put(app, '/kv/other').set('If-Match', '*')).body).toMatchObject({ code: 'VERSION_MISMATCH', version: 0 });
    // Both forms, agreeing.
    expect((await put(app, '/kv/k?ifVersion=3').set('If-Match', '"3"')).body.version).toBe(4);
    expect((await request(app).delete('/kv/k').set('If-Match', '"4"')).body.version).toBe(5);
  });

  it.each([
    ['/kv/k?ifVersion=-1', {}, /ifVersion must be an integer from 0 to 9007199254740991/],
    ['/kv/k?ifVersion=1.5', {}, /ifVersion must be an integer/],
    ['/kv/k?ifVersion=abc', {}, /ifVersion must be an integer/],
    ['/kv/k?ifVersion=9007199254740992', {}, /ifVersion must be an integer from 0 to 9007199254740991/],
    ['/kv/k?ifVersion=1&ifVersion=2', {}, /ifVersion must be given once/],
    ['/kv/k?ifversion=1', {}, /property ifversion should not exist/],
    ['/kv/k', { 'If-Match': '1' }, /If-Match must be one quoted version/],
    ['/kv/k', { 'If-Match': 'W/"1"' }, /If-Match must be one quoted version/],
    ['/kv/k', { 'If-Match': '"1", "2"' }, /If-Match must be one quoted version/],
    ['/kv/k', { 'If-Match': '"-1"' }, /If-Match must be one quoted version/],
    ['/kv/k', { 'If-None-Match': '"1"' }, /If-None-Match on a write must be \*/],
    ['/kv/k?ifVersion=2', { 'If-Match': '"3"' }, /ifVersion=2 and If-Match: "3" disagree/],
    ['/kv/k?ifVersion=0', { 'If-Match': '*' }, /disagree/],
    ['/kv/k', { 'If-Match': '"1"', 'If-None-Match': '*' }, /disagree/],
  ])('PUT %s %j is 400 INVALID_QUERY naming the problem, nothing applied', async (url, headers, message) => {
    const { app, leader } = setup();
    await put(app, '/kv/k');
    const res = await put(app, url).set(headers);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject(INVALID);
    expect(res.body.error).toMatch(message);
    expect(leader.version).toBe(1);
  });

  it.each([
    ['/kv/k?ifVersion=0', {}],
    ['/kv/k', { 'If-None-Match': '*' }],
    ['/kv/k', { 'If-Match': '"0"' }],
  ])('DELETE %s %j (the key must be absent) is 400, whether the key exists or not', async (url, headers) => {
    const { app, leader } = setup();
    for (const exists of [false, true]) {
      if (exists) await put(app, '/kv/k');
      const res = await request(app).delete(url).set(headers);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject(INVALID);
      expect(res.body.error).toMatch(/requires the key to be absent/);
    }
    expect(leader.version).toBe(1);
  });

  it('takes an empty ifVersion or If-Match as absent, like other empty parameters', async () => {
    const { app } = setup();
    expect((await put(app, '/kv/k?ifVersion=').set('If-Match', '')).body.version).toBe(1);
  });

  it('of 20 concurrent ifVersion writes to one key, exactly one passes; the others get 412 with its version', async () => {
    const { app } = setup();
    await put(app, '/kv/k', 'start');
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => put(app, '/kv/k?ifVersion=1', `writer ${i}`)));
    const winners = answers.filter((a) => a.status === 200);
    expect(winners).toHaveLength(1);
    const winner = winners[0].body as { version: number };
    for (const loser of answers.filter((a) => a.status !== 200)) {
      expect(loser.status).toBe(412);
      expect(loser.body).toMatchObject({ code: 'VERSION_MISMATCH', version: winner.version });
    }
  });

  it('counts refusals in kv_writes_refused_total', async () => {
    const { app, registry } = setup();
    await put(app, '/kv/k?ifVersion=5');
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/kv_writes_refused_total\{reason="VERSION_MISMATCH"\} 1/);
  });
});

describe('MIN_FOLLOWERS_TO_WRITE', () => {
  async function clocked(minFollowersToWrite: number) {
    const clock = new VirtualClock();
    const built = setup({ minFollowersToWrite, clock, inSyncMaxLagMs: 1000 });
    await clock.advance(100);
    return { ...built, clock };
  }

  it('/status shows inSync beside writeQuorum, also when the setting is off', async () => {
    const { app } = await clocked(0);
    expect((await request(app).get('/status')).body).toMatchObject({ writeQuorum: 1, inSync: 5 });
  });

  it('refuses with 503 NOT_ENOUGH_FOLLOWERS while too few are in sync, applying nothing; accepts again once they are back', async () => {
    const { app, leader, fake, clock, registry } = await clocked(3);
    expect((await put(app, '/kv/k', 'a')).status).toBe(200);
    for (const url of fake.urls.slice(0, 3)) fake.down.add(url);
    await clock.advance(1500);
    expect((await request(app).get('/status')).body.inSync).toBe(2);

    const refused = await put(app, '/kv/k', 'b');
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({ error: expect.any(String), code: 'NOT_ENOUGH_FOLLOWERS', inSync: 2, required: 3 });
    // Before the condition: a write whose condition fails is refused for the followers first.
    expect((await put(app, '/kv/k?ifVersion=99', 'b')).body.code).toBe('NOT_ENOUGH_FOLLOWERS');
    expect((await request(app).delete('/kv/k')).body.code).toBe('NOT_ENOUGH_FOLLOWERS');
    // After validation: bad input is still a 400.
    expect((await put(app, '/kv/k?ifVersion=x', 'b')).status).toBe(400);
    expect(leader.version).toBe(1);
    expect((await request(app).get('/kv/k')).body.value).toBe('a');
    expect(await registry.metrics()).toMatch(/kv_writes_refused_total\{reason="NOT_ENOUGH_FOLLOWERS"\} 3/);

    for (const url of fake.urls) fake.down.delete(url);
    await clock.advance(1000);
    expect((await request(app).get('/status')).body.inSync).toBe(5);
    expect((await put(app, '/kv/k', 'c')).body.version).toBe(2);
  });

  it('with the setting off, writes go on however few followers are in sync', async () => {
    const { app, fake, clock } = await clocked(0);
    for (const url of fake.urls) fake.down.add(url);
    await clock.advance(1500);
    expect((await request(app).get('/status')).body.inSync).toBe(0);
    expect((await put(app, '/kv/k?w=0')).status).toBe(200);
  });
});
