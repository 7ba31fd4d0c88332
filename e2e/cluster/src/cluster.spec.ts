import { LocalCluster } from '@kv/local-cluster';
import { call, del, get, listAll, put, status, waitConverged, waitFor } from './client';

describe('six-node cluster as processes', () => {
  let cluster: LocalCluster;
  let leader: string;

  beforeAll(async () => {
    cluster = await LocalCluster.start({ leaderEnv: { WRITE_QUORUM: '3', MIN_DELAY_MS: '5', MAX_DELAY_MS: '60' } });
    leader = cluster.leader.url;
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('logs one ready line per node', () => {
    for (const node of cluster.nodes) {
      expect(node.lines.filter((l) => /ready on http/.test(l))).toHaveLength(1);
    }
  });

  it('creates, reads, updates and deletes through the leader, and followers follow', async () => {
    const created = await put(leader, 'crud', { n: 1 });
    expect(created).toEqual({ status: 200, body: { key: 'crud', version: expect.any(Number), acks: 3, quorum: 3 } });
    expect((await get(leader, 'crud')).body).toEqual({ key: 'crud', value: { n: 1 }, version: created.body.version });

    const updated = await put(leader, 'crud', 'two', 5);
    expect(updated.body.version).toBeGreaterThan(created.body.version as number);
    for (const f of cluster.followers) expect((await get(f.url, 'crud')).body).toMatchObject({ value: 'two', version: updated.body.version });

    const deleted = await del(leader, 'crud', 5);
    expect(deleted.status).toBe(200);
    expect((await get(leader, 'crud')).status).toBe(404);
    for (const f of cluster.followers) expect((await get(f.url, 'crud')).status).toBe(404);
    expect((await del(leader, 'crud')).status).toBe(404);
  });

  it('refuses writes on followers with the leader hint', async () => {
    for (const f of cluster.followers) {
      const res = await put(f.url, 'x', 1);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ error: 'Only leader accepts writes', leader });
      expect((await del(f.url, 'x')).status).toBe(403);
    }
  });

  it('handles the seed concurrent-writes test: 10 writers over 5 keys', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => put(leader, `concurrent_key_${i % 5}`, `value_${i}`)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const versions = results.map((r) => r.body.version as number);
    expect(new Set(versions).size).toBe(10);
    for (let k = 0; k < 5; k++) {
      const winner = results.filter((_, i) => i % 5 === k).sort((a, b) => (b.body.version as number) - (a.body.version as number))[0];
      expect((await get(leader, `concurrent_key_${k}`)).body.version).toBe(winner.body.version);
    }
    await waitConverged(leader, cluster.followers.map((f) => f.url), 5000);
  });

  it('has a w=5 write on every follower the moment it is answered', async () => {
    for (let i = 0; i < 10; i++) {
      const res = await put(leader, `all_${i}`, i, 5);
      expect(res.body).toMatchObject({ acks: 5, quorum: 5 });
      const reads = await Promise.all(cluster.followers.map((f) => get(f.url, `all_${i}`)));
      for (const read of reads) expect(read.body.version).toBeGreaterThanOrEqual(res.body.version as number);
    }
  });

  it('lists identically on every node once writes stop', async () => {
    await waitConverged(leader, cluster.followers.map((f) => f.url), 5000);
    const items = await listAll(leader);
    expect(items.length).toBeGreaterThan(10);
    const s = (await status(leader)).body as { version: number; followers: Array<{ lag: number; state: string; ackedVersion: number }> };
    for (const f of s.followers) expect(f).toMatchObject({ lag: 0, state: 'up', ackedVersion: s.version });
    for (const f of cluster.followers) expect((await status(f.url)).body).toEqual({ role: 'follower', appliedVersion: s.version, keys: items.length });
  });

  it('answers health, status and metrics on every node', async () => {
    for (const node of cluster.nodes) {
      expect((await call('GET', `${node.url}/health`)).body).toEqual({ status: 'ok', role: node.role });
      const metrics = await fetch(`${node.url}/metrics`);
      expect(metrics.headers.get('content-type')).toMatch(/text\/plain/);
      expect(await metrics.text()).toMatch(/kv_keys \d+/);
    }
  });
});

describe('with three followers stopped', () => {
  let cluster: LocalCluster;

  beforeAll(async () => {
    cluster = await LocalCluster.start({ leaderEnv: { WRITE_QUORUM: '3', REPLICATION_TIMEOUT_MS: '3000' } });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('answers a w=3 write 503 with the contract fields, keeps it on the leader, and replicates it once they are back', async () => {
    await Promise.all(cluster.followers.slice(0, 3).map((f) => f.stop()));
    const started = Date.now();
    const res = await put(cluster.leader.url, 'lonely', 'kept');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      error: expect.any(String),
      code: 'QUORUM_NOT_REACHED',
      key: 'lonely',
      version: expect.any(Number),
      acks: expect.any(Number),
      quorum: 3,
    });
    // Only two followers could ack; the answer may come before both did.
    expect(res.body.acks).toBeLessThanOrEqual(2);
    // The quorum became impossible before the timeout: the answer need not wait for it.
    expect(Date.now() - started).toBeLessThan(3000);
    expect((await get(cluster.leader.url, 'lonely')).body).toMatchObject({ value: 'kept', version: res.body.version });

    type Followers = { followers: Array<{ state: string; lastError: string | null }> };
    let seen = '';
    await waitFor(
      async () => {
        const s = (await status(cluster.leader.url)).body as Followers;
        seen = JSON.stringify(s.followers);
        return s.followers.slice(0, 3).every((f) => f.state === 'down' && /ECONNREFUSED/.test(f.lastError ?? ''));
      },
      3000,
      () => `leader status: ${seen}`,
    );

    await Promise.all(cluster.followers.slice(0, 3).map((f) => f.start()));
    await waitConverged(cluster.leader.url, cluster.followers.map((f) => f.url), 5000);
  });
});

describe('process lifecycle', () => {
  it('exits 1 with one line naming the variable on a bad configuration', async () => {
    const bad: Array<[Record<string, string>, RegExp]> = [
      [{ WRITE_QUORUM: '9', FOLLOWERS: 'http://127.0.0.1:1' }, /WRITE_QUORUM/],
      [{ FOLLOWERS: 'not-a-url' }, /FOLLOWERS/],
      [{ WRITE_QUORUM: 'three' }, /WRITE_QUORUM/],
    ];
    for (const [env, pattern] of bad) {
      const { spawnSync } = await import('node:child_process');
      const result = spawnSync(process.execPath, ['dist/apps/leader/main.js'], { env: { PATH: process.env.PATH, PORT: '0', ...env }, encoding: 'utf8', timeout: 10_000 });
      expect(result.status).toBe(1);
      const lines = (result.stderr + result.stdout).trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(pattern);
    }
    const { spawnSync } = await import('node:child_process');
    const follower = spawnSync(process.execPath, ['dist/apps/follower/main.js'], { env: { PATH: process.env.PATH, PORT: 'eighty' }, encoding: 'utf8', timeout: 10_000 });
    expect(follower.status).toBe(1);
    expect(follower.stderr.trim()).toMatch(/^follower: invalid configuration: PORT must be/);
  });

  it('exits 1 with one line naming the variable when it cannot listen or use its DATA_DIR', async () => {
    const { spawnSync } = await import('node:child_process');
    const { createServer } = await import('node:net');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const path = await import('node:path');
    const { tmpdir } = await import('node:os');
    const occupied = createServer();
    await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve));
    const busyPort = (occupied.address() as { port: number }).port;
    const dir = mkdtempSync(path.join(tmpdir(), 'kv-bad-data-'));
    writeFileSync(path.join(dir, 'file'), 'x');
    try {
      const cases: Array<[string, Record<string, string>, RegExp]> = [
        ['leader', { HOST: '127.0.0.1', PORT: String(busyPort) }, new RegExp(`cannot start: PORT ${busyPort}: already in use`)],
        ['follower', { HOST: '127.0.0.1', PORT: String(busyPort) }, new RegExp(`cannot start: PORT ${busyPort}: already in use`)],
        // An address literal (TEST-NET-1), so no name lookup leaves the machine.
        ['leader', { HOST: '192.0.2.1', PORT: '0' }, /cannot start: HOST 192\.0\.2\.1: not an address of this machine/],
        ['leader', { HOST: '127.0.0.1', PORT: '0', DATA_DIR: path.join(dir, 'file', 'data') }, /cannot start: DATA_DIR .*: ENOTDIR/],
        // Node's recursive mkdir never returns on such a path; the node must refuse it.
        ['follower', { HOST: '127.0.0.1', PORT: '0', DATA_DIR: '/proc/kv-no-such-dir' }, /cannot start: DATA_DIR \/proc\/kv-no-such-dir: ENOENT/],
      ];
      for (const [app, env, pattern] of cases) {
        const result = spawnSync(process.execPath, [`dist/apps/${app}/main.js`], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 10_000 });
        expect({ app, env, status: result.status }).toEqual({ app, env, status: 1 });
        const lines = (result.stderr + result.stdout).trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(JSON.parse(lines[0]).msg).toMatch(pattern);
      }
    } finally {
      occupied.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finishes a write in flight on SIGTERM, then exits 0', async () => {
    const cluster = await LocalCluster.start({ followers: 2, leaderEnv: { WRITE_QUORUM: '2', MIN_DELAY_MS: '600', MAX_DELAY_MS: '600' } });
    try {
      const write = put(cluster.leader.url, 'inflight', 1);
      await new Promise((resolve) => setTimeout(resolve, 150));
      const exit = cluster.leader.stop();
      const res = await write;
      expect(res).toMatchObject({ status: 200, body: { acks: 2 } });
      expect(await exit).toBe(0);
      for (const f of cluster.followers) expect(await f.stop()).toBe(0);
    } finally {
      await cluster.stop();
    }
  });
});
