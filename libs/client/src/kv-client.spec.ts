import { FakeNode } from './testing';
import { KvClient } from './kv-client';
import {
  InvalidRequestError,
  KeyNotFoundError,
  KvClientError,
  NotCaughtUpError,
  NotLeaderError,
  QuorumNotReachedError,
  RequestTimeoutError,
  UnreachableError,
  VersionMismatchError,
  errorFromAnswer,
} from './errors';
import { flakyServer, freePortUrl, silentServer, tricklingServer } from './spec-helpers';

describe('KvClient against in-process nodes', () => {
  let leader: FakeNode;
  let follower: FakeNode;
  let client: KvClient;

  beforeEach(async () => {
    leader = await FakeNode.start({ role: 'leader' });
    follower = await FakeNode.start({ role: 'follower', leaderUrl: leader.url });
    client = new KvClient({ endpoints: [follower.url], retryDelayMs: 1 });
  });

  afterEach(async () => {
    client.close();
    await Promise.all([leader.stop(), follower.stop()]);
  });

  it('follows a follower 403 leader hint and remembers the leader', async () => {
    const answer = await client.put('a/b', { x: 1 }, { w: 2 });
    expect(answer).toEqual({ key: 'a/b', version: 1, acks: 2, quorum: 2 });
    expect(client.leader).toBe(leader.url);
    await client.delete('a/b');
    // The second write went straight to the remembered leader.
    expect(follower.requests.filter((r) => r.method !== 'GET')).toHaveLength(1);
    expect(leader.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['PUT /kv/a%2Fb?w=2', 'DELETE /kv/a%2Fb']);
  });

  it('tries the next endpoint when a follower knows no leader', async () => {
    follower.leaderUrl = null;
    const both = new KvClient({ endpoints: [follower.url, leader.url] });
    await expect(both.put('k', 1)).resolves.toMatchObject({ version: 1 });
    expect(both.leader).toBe(leader.url);
    both.close();
  });

  it('throws NotLeaderError when no endpoint is the leader', async () => {
    follower.leaderUrl = null;
    await expect(client.put('k', 1)).rejects.toBeInstanceOf(NotLeaderError);
  });

  it('reads from the first endpoint that answers and names every unreachable one', async () => {
    const dead = await freePortUrl();
    leader.apply('k', 'v');
    const reader = new KvClient({ endpoints: [dead, leader.url], retries: 0 });
    await expect(reader.get('k')).resolves.toMatchObject({ key: 'k', value: 'v', version: 1, appliedVersion: 1 });
    reader.close();
    const nobody = new KvClient({ endpoints: [dead], retries: 1, retryDelayMs: 1 });
    const error = await nobody.get('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnreachableError);
    expect((error as UnreachableError).message).toContain(dead);
    expect((error as UnreachableError).code).toBe('UNREACHABLE');
    expect((error as UnreachableError).status).toBeNull();
    await expect(nobody.put('k', 1)).rejects.toBeInstanceOf(UnreachableError);
    nobody.close();
  });

  it('maps error answers to typed errors by code', async () => {
    const onLeader = new KvClient({ endpoints: [leader.url] });
    await expect(onLeader.get('absent')).rejects.toBeInstanceOf(KeyNotFoundError);
    await expect(onLeader.delete('absent')).rejects.toMatchObject({ code: 'KEY_NOT_FOUND', status: 404 });
    leader.failQuorum = true;
    const quorum = (await onLeader.put('k', 'v', { w: 5 }).catch((e: unknown) => e)) as QuorumNotReachedError;
    expect(quorum).toBeInstanceOf(QuorumNotReachedError);
    expect([quorum.version, quorum.acks, quorum.quorum, quorum.key, quorum.status]).toEqual([1, 0, 5, 'k', 503]);
    leader.failQuorum = false;
    const mismatch = (await onLeader.put('k', 'w', { ifVersion: 0 }).catch((e: unknown) => e)) as VersionMismatchError;
    expect(mismatch).toBeInstanceOf(VersionMismatchError);
    expect(mismatch.currentVersion).toBe(1);
    await expect(onLeader.put('k', 'w', { ifVersion: 1 })).resolves.toMatchObject({ version: 2 });
    await expect(onLeader.delete('k', { ifVersion: 1 })).rejects.toBeInstanceOf(VersionMismatchError);
    expect(leader.requests.at(-1)?.url).toBe('/kv/k?ifVersion=1');
    onLeader.close();
  });

  it('keeps unknown codes with their status and details', () => {
    const error = errorFromAnswer(418, { error: 'teapot', code: 'SOMETHING_NEW', extra: 1 }, 'http://n');
    expect(error).toBeInstanceOf(KvClientError);
    expect([error.code, error.status, error.details, error.endpoint]).toEqual(['SOMETHING_NEW', 418, { extra: 1 }, 'http://n']);
    expect(errorFromAnswer(400, { error: 'bad', code: 'INVALID_KEY' }, 'http://n')).toBeInstanceOf(InvalidRequestError);
    expect(errorFromAnswer(502, '<html>', 'http://n').code).toBe('HTTP_502');
  });

  it('lists every item across pages, following next', async () => {
    for (let i = 0; i < 7; i++) leader.apply(`p${i}`, i);
    leader.apply('q', 'other');
    const reader = new KvClient({ endpoints: [leader.url] });
    const keys: string[] = [];
    for await (const item of reader.list({ prefix: 'p', pageSize: 3 })) keys.push(item.key);
    expect(keys).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
    expect(leader.requests.map((r) => r.url)).toEqual(['/kv?prefix=p&limit=3', '/kv?prefix=p&after=p2&limit=3', '/kv?prefix=p&after=p5&limit=3']);
    reader.close();
  });

  it('reads with minVersion: waits for the version, or throws NotCaughtUpError', async () => {
    const reader = new KvClient({ endpoints: [follower.url] });
    setTimeout(() => follower.apply('k', 'late'), 50);
    await expect(reader.get('k', { minVersion: 1, waitMs: 2000 })).resolves.toMatchObject({ value: 'late', appliedVersion: 1 });
    expect(follower.requests.at(-1)?.url).toBe('/kv/k?minVersion=1&timeout=2000');
    const late = (await reader.get('k', { minVersion: 5, waitMs: 20 }).catch((e: unknown) => e)) as NotCaughtUpError;
    expect(late).toBeInstanceOf(NotCaughtUpError);
    expect([late.appliedVersion, late.minVersion]).toEqual([1, 5]);
    await expect(reader.listPage({ minVersion: 1 })).resolves.toMatchObject({ items: [{ key: 'k' }], appliedVersion: 1 });
    reader.close();
  });

  it('times out with a TIMEOUT error naming the endpoint; a minVersion read gets its wait on top', async () => {
    const silent = await silentServer();
    const slow = new KvClient({ endpoints: [silent.url], timeoutMs: 50, retries: 1, retryDelayMs: 1 });
    const timeout = (await slow.status().catch((e: unknown) => e)) as RequestTimeoutError;
    expect(timeout).toBeInstanceOf(RequestTimeoutError);
    expect([timeout.code, timeout.message]).toEqual(['TIMEOUT', expect.stringContaining(`${silent.url}: no answer within 50 ms`)]);
    slow.close();
    await silent.stop();
    const patient = new KvClient({ endpoints: [follower.url], timeoutMs: 50 });
    setTimeout(() => follower.apply('k', 1), 200);
    await expect(patient.get('k', { minVersion: 1, waitMs: 1000 })).resolves.toMatchObject({ version: 1 });
    patient.close();
  });

  it('times out an answer that keeps trickling in: the timeout is a deadline, not an idle time', async () => {
    // A byte every 20 ms, for ever: the socket is never idle for 200 ms.
    const trickling = await tricklingServer(200, ' ', 20);
    const client = new KvClient({ endpoints: [trickling.url], timeoutMs: 200, retries: 0 });
    const started = Date.now();
    const error = (await client.status().catch((e: unknown) => e)) as RequestTimeoutError;
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error.message).toContain(`${trickling.url}: no answer within 200 ms`);
    expect(Date.now() - started).toBeLessThan(2000);
    client.close();
    await trickling.stop();
  });

  it('takes a timeout longer than a timer holds (2^31 ms and more) as that long, not as at once', async () => {
    const patient = new KvClient({ endpoints: [leader.url], timeoutMs: 3_000_000_000, retries: 0 });
    await expect(patient.status()).resolves.toMatchObject({ role: 'leader' });
    patient.close();
  });

  it('retries a write after a broken connection only when the caller marks it idempotent', async () => {
    const once = await flakyServer(1, { key: 'k', version: 1, acks: 3, quorum: 3 });
    const writer = new KvClient({ endpoints: [once.url], retryDelayMs: 1 });
    await expect(writer.put('k', 1)).rejects.toMatchObject({ code: 'CONNECTION_LOST', message: expect.stringContaining('may have been applied') });
    expect(once.requests()).toBe(1);
    await expect(writer.put('k', 1)).resolves.toMatchObject({ version: 1 });
    await once.stop();
    const twice = await flakyServer(2, { key: 'k', version: 1, acks: 3, quorum: 3 });
    const retrying = new KvClient({ endpoints: [twice.url], retryDelayMs: 1, retries: 2 });
    await expect(retrying.put('k', 1, { idempotent: true })).resolves.toMatchObject({ version: 1 });
    expect(twice.requests()).toBe(3);
    // Reads are always safe to repeat.
    writer.close();
    retrying.close();
    await twice.stop();
  });

  it('answers status, health, livez, readyz and metrics', async () => {
    await expect(client.status()).resolves.toMatchObject({ role: 'follower', appliedVersion: 0 });
    await expect(client.health({ endpoint: leader.url })).resolves.toEqual({ status: 'ok', role: 'leader' });
    await expect(client.livez()).resolves.toEqual({ status: 'ok' });
    await expect(client.readyz()).rejects.toMatchObject({ code: 'ROUTE_NOT_FOUND', status: 404 });
  });
});
