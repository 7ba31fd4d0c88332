import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { checkConsistency } from './consistency-check';
import { sameRead } from './node-reader';

type Entry = { value: string; version: number };

/** A node answering GET /kv/:key from a map that the test changes as it goes. */
async function fakeNode(entries: Map<string, Entry>) {
  const server = http.createServer((req, res) => {
    const key = decodeURIComponent((req.url ?? '').replace(/^\/kv\//, ''));
    const entry = entries.get(key);
    if (entry) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ key, ...entry }));
    else res.writeHead(404).end('{"error":"not found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe('sameRead', () => {
  it('agrees on the same version and value, or on both absent; never on an error', () => {
    expect(sameRead({ kind: 'value', version: 3, value: '"x"' }, { kind: 'value', version: 3, value: '"x"' })).toBe(true);
    expect(sameRead({ kind: 'value', version: 3, value: '"x"' }, { kind: 'value', version: 4, value: '"x"' })).toBe(false);
    expect(sameRead({ kind: 'value', version: 3, value: '"x"' }, { kind: 'value', version: 3, value: '"y"' })).toBe(false);
    expect(sameRead({ kind: 'absent' }, { kind: 'absent' })).toBe(true);
    expect(sameRead({ kind: 'absent' }, { kind: 'value', version: 1, value: '1' })).toBe(false);
    expect(sameRead({ kind: 'error', reason: 'x' }, { kind: 'error', reason: 'x' })).toBe(false);
  });
});

describe('checkConsistency', () => {
  const keys = ['k0', 'k1', 'gone'];
  const leaderEntries = new Map<string, Entry>([
    ['k0', { value: 'a', version: 5 }],
    ['k1', { value: 'b', version: 6 }],
  ]);
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
  });
  const start = async (entries: Map<string, Entry>) => {
    const node = await fakeNode(entries);
    closers.push(node.close);
    return node.url;
  };

  it('counts the follower reads that differ at first, then reports when they all agree', async () => {
    const leader = await start(leaderEntries);
    const upToDate = await start(new Map(leaderEntries));
    const lagging = new Map<string, Entry>([['k0', { value: 'old', version: 2 }], ['gone', { value: 'deleted later', version: 1 }]]);
    const behind = await start(lagging);
    // The lagging follower catches up after 100 ms.
    setTimeout(() => {
      lagging.clear();
      for (const [key, entry] of leaderEntries) lagging.set(key, entry);
    }, 100);
    const rounds: number[] = [];
    const report = await checkConsistency({
      leaderUrl: leader,
      followerUrls: [upToDate, behind],
      keys,
      stormEndedAtEpochMs: Date.now(),
      timeoutMs: 5000,
      readTimeoutMs: 1000,
      pollIntervalMs: 10,
      onRound: (agreeing) => rounds.push(agreeing),
    });
    expect(report).toMatchObject({ pairs: 6, firstReadMismatches: 3, lastReadMismatches: 0, converged: true, examples: [] });
    expect(report.convergeMs).toBeGreaterThanOrEqual(100);
    expect(report.rounds).toBeGreaterThan(1);
    expect(rounds[0]).toBe(3);
    expect(rounds.at(-1)).toBe(6);
  });

  it('gives up after the time limit and says which reads still differ', async () => {
    const leader = await start(leaderEntries);
    const stuck = await start(new Map());
    const report = await checkConsistency({ leaderUrl: leader, followerUrls: [stuck], keys, stormEndedAtEpochMs: Date.now(), timeoutMs: 200, readTimeoutMs: 1000, pollIntervalMs: 20 });
    expect(report).toMatchObject({ pairs: 3, firstReadMismatches: 2, lastReadMismatches: 2, converged: false, convergeMs: null });
    expect(report.rounds).toBeLessThanOrEqual(11);
    expect(report.examples).toEqual([`${stuck} k0: absent, leader v5`, `${stuck} k1: absent, leader v6`]);
  });

  it('counts an unreachable follower as differing', async () => {
    const leader = await start(leaderEntries);
    const report = await checkConsistency({ leaderUrl: leader, followerUrls: ['http://127.0.0.1:1'], keys: ['k0'], stormEndedAtEpochMs: Date.now(), timeoutMs: 0, readTimeoutMs: 500 });
    expect(report).toMatchObject({ converged: false, firstReadMismatches: 1, rounds: 1 });
    expect(report.examples[0]).toMatch(/k0: error \(connect ECONNREFUSED/);
  });

  it('gives a follower that accepts and never answers one read deadline per round, not one per 8 of its keys', async () => {
    const many = Array.from({ length: 80 }, (_, i) => `k${i}`);
    const leader = await start(new Map(many.map((key, i) => [key, { value: 'v', version: i + 1 }])));
    const sockets = new Set<net.Socket>();
    const wedged = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => wedged.listen(0, '127.0.0.1', resolve));
    closers.push(() => {
      sockets.forEach((socket) => socket.destroy());
      return new Promise((resolve) => wedged.close(resolve));
    });
    const url = `http://127.0.0.1:${(wedged.address() as AddressInfo).port}`;
    const started = Date.now();
    const report = await checkConsistency({ leaderUrl: leader, followerUrls: [url], keys: many, stormEndedAtEpochMs: Date.now(), timeoutMs: 0, readTimeoutMs: 200 });
    // 80 keys over 8 connections would be 10 deadlines (2 s) read by read.
    expect(Date.now() - started).toBeLessThan(1500);
    expect(report).toMatchObject({ converged: false, rounds: 1, firstReadMismatches: 80 });
    expect(report.examples[0]).toBe(`${url} k0: error (no whole answer within 200 ms), leader v1`);
    expect(report.examples.some((example) => example.includes('given up this round'))).toBe(true);
  });
});
