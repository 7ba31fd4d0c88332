import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalCluster, NodeProcess } from '@kv/local-cluster';
import { del, get, listAll, put, status, waitConverged, waitFor } from './client';

/**
 * The seven faults of "No acknowledged write lost, exact convergence" (issue 11) and the
 * restarted leader that recovers from its followers (issue 12), each replayed as its
 * smallest input against real processes (API.md guarantees 5-8 and 7).
 */
let cluster: LocalCluster | undefined;
let dataRoot: string;
beforeEach(async () => {
  dataRoot = await mkdtemp(path.join(tmpdir(), 'kv-safety-'));
});
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
  await rm(dataRoot, { recursive: true, force: true });
});

const followerUrls = (c: LocalCluster) => c.followers.map((f) => f.url);
const leaderStatus = async (c: LocalCluster) => (await status(c.leader.url)).body as { state: string; version: number; epoch?: number; followers: Array<{ state: string; lastError: string | null }> };
const serving = (c: LocalCluster) => waitFor(async () => (await leaderStatus(c)).state === 'serving', 15_000, async () => JSON.stringify(await leaderStatus(c)));

describe('issue 11: no acknowledged write lost, exact convergence', () => {
  it('1. a catch-up larger than one request completes: 17 values of 1,000,000 characters to a follower restarted empty', async () => {
    cluster = await LocalCluster.start({ leaderEnv: { WRITE_QUORUM: '1' } });
    const lagging = cluster.followers[4];
    await lagging.kill();
    const big = 'x'.repeat(1_000_000);
    for (let i = 0; i < 17; i++) expect(await put(cluster.leader.url, `big-${i}`, big, 1)).toMatchObject({ status: 200 });
    await lagging.start();
    // The contract's 2 s plus the transfer of 17 MB on loopback.
    await waitConverged(cluster.leader.url, [lagging.url], 15_000);
    const row = (await leaderStatus(cluster)).followers[4];
    expect(row.lastError).toBeNull();
  });

  it('4. refuses at start a FOLLOWERS list that names one follower twice (127.0.0.1 and localhost)', async () => {
    cluster = await LocalCluster.start({ followers: 2 });
    const [p, q] = cluster.followers;
    const leader = new NodeProcess({
      name: 'dup-leader',
      role: 'leader',
      script: path.resolve('dist/apps/leader/main.js'),
      host: '127.0.0.1',
      port: cluster.leader.port + 1000 > 65000 ? cluster.leader.port - 1000 : cluster.leader.port + 1000,
      env: { FOLLOWERS: `http://127.0.0.1:${p.port},http://localhost:${p.port},http://127.0.0.1:${q.port}`, WRITE_QUORUM: '2' },
      readyTimeoutMs: 5000,
    });
    await expect(leader.start()).rejects.toThrow(/exited with code 1/);
    const line = leader.lines.find((l) => l.includes('FOLLOWERS'));
    expect(line).toContain(`http://127.0.0.1:${p.port}`);
    expect(line).toContain(`http://localhost:${p.port}`);
  });

  it('5. a follower restored from an old backup does not bring back a key the leader deleted', async () => {
    cluster = await LocalCluster.start({ dataRoot });
    const leader = cluster.leader.url;
    const f5 = cluster.followers[4];
    expect(await put(leader, 'zombie', 1, 5)).toMatchObject({ status: 200 });
    expect(await put(leader, 'other', 2, 5)).toMatchObject({ status: 200 });
    await f5.stop();
    const backup = path.join(dataRoot, 'f5-backup');
    await cp(path.join(dataRoot, 'f5'), backup, { recursive: true });
    await f5.start();
    await waitFor(async () => (await leaderStatus(cluster as LocalCluster)).followers[4].state === 'up', 10_000, () => 'f5 not up');
    expect(await del(leader, 'zombie', 5)).toMatchObject({ status: 200 });
    expect(await put(leader, 'later', 3, 5)).toMatchObject({ status: 200 });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await f5.kill();
    await rm(path.join(dataRoot, 'f5'), { recursive: true, force: true });
    await cp(backup, path.join(dataRoot, 'f5'), { recursive: true });
    await f5.start();
    await waitConverged(leader, [f5.url], 5000);
    expect((await get(f5.url, 'zombie')).status).toBe(404);
    expect((await get(f5.url, 'later')).status).toBe(200);
  });

  it('6. a write sent as soon as every node answers /health counts every follower, however late they started', async () => {
    for (let round = 0; round < 3; round++) {
      const c = await LocalClusterLate.create();
      try {
        await c.startStaggered();
        const res = await put(c.cluster.leader.url, 'seeded', round, 5);
        expect(res.body).toMatchObject({ acks: 5, quorum: 5 });
        expect(res.status).toBe(200);
      } finally {
        await c.cluster.stop();
      }
    }
  });
});

/** A cluster whose leader starts first and whose followers come up a few hundred ms later. */
class LocalClusterLate {
  private constructor(readonly cluster: LocalCluster) {}

  static async create(): Promise<LocalClusterLate> {
    return new LocalClusterLate(await LocalCluster.prepare({}));
  }

  async startStaggered(): Promise<void> {
    const { leader, followers } = this.cluster;
    const started = [leader.start()];
    for (const [i, f] of followers.entries()) {
      await new Promise((resolve) => setTimeout(resolve, i < 2 ? 0 : 150));
      started.push(f.start());
    }
    await Promise.all(started);
  }
}

describe('issue 12: a restarted leader recovers the newest state from its followers', () => {
  async function writeMany(leader: string, count: number, w = 3): Promise<Map<string, { value: number; version: number }>> {
    const acked = new Map<string, { value: number; version: number }>();
    let next = 0;
    const writer = async () => {
      while (next < count) {
        const i = next++;
        const res = await put(leader, `k${i}`, i, w);
        expect(res.status).toBe(200);
        acked.set(`k${i}`, { value: i, version: res.body.version as number });
      }
    };
    await Promise.all(Array.from({ length: 8 }, writer));
    return acked;
  }

  async function expectAllPresent(base: string, acked: Map<string, { value: number; version: number }>) {
    const items = new Map((await listAll(base)).map((item) => [item.key, item]));
    for (const [key, { value, version }] of acked) {
      expect(items.get(key)).toEqual({ key, value, version });
    }
  }

  it('in memory: 500 writes with w=3, kill -9 the leader, start it: every write is there with its version, and versions go on above', async () => {
    cluster = await LocalCluster.start();
    const acked = await writeMany(cluster.leader.url, 500);
    await cluster.leader.kill();
    await cluster.leader.start();
    await serving(cluster);
    await expectAllPresent(cluster.leader.url, acked);
    for (const f of followerUrls(cluster)) await expectAllPresent(f, acked);
    const highest = Math.max(...[...acked.values()].map((a) => a.version));
    const next = await put(cluster.leader.url, 'after', 1, 5);
    expect(next.status).toBe(200);
    expect(next.body.version).toBeGreaterThan(highest);
    await waitConverged(cluster.leader.url, followerUrls(cluster), 5000);
  });

  it('with DATA_DIR deleted, or replaced by an older copy of itself, the leader ends up with the newer writes its followers hold', async () => {
    cluster = await LocalCluster.start({ dataRoot });
    const early = await writeMany(cluster.leader.url, 50);
    await cluster.leader.stop();
    const older = path.join(dataRoot, 'leader-older');
    await cp(path.join(dataRoot, 'leader'), older, { recursive: true });
    await cluster.leader.start();
    await serving(cluster);
    const late = await writeMany(cluster.leader.url, 50);
    await cluster.leader.kill();
    await rm(path.join(dataRoot, 'leader'), { recursive: true, force: true });
    await cp(older, path.join(dataRoot, 'leader'), { recursive: true });
    await cluster.leader.start();
    await serving(cluster);
    await expectAllPresent(cluster.leader.url, new Map([...early, ...late]));

    await cluster.leader.kill();
    await rm(path.join(dataRoot, 'leader'), { recursive: true, force: true });
    await cluster.leader.start();
    await serving(cluster);
    await expectAllPresent(cluster.leader.url, new Map([...early, ...late]));
    await waitConverged(cluster.leader.url, followerUrls(cluster), 5000);
  });

  it('a leader whose clock is 60 s behind on restart works like any other', async () => {
    const preload = path.join(dataRoot, 'clock-behind.js');
    await writeFile(preload, 'const real = Date.now; Date.now = () => real() - 60000;\n');
    cluster = await LocalCluster.start();
    const acked = await writeMany(cluster.leader.url, 20);
    await cluster.leader.kill();
    await cluster.leader.start({ NODE_OPTIONS: `--require ${preload}` });
    await serving(cluster);
    const res = await put(cluster.leader.url, 'behind', 1, 5);
    expect(res.status).toBe(200);
    await expectAllPresent(cluster.leader.url, acked);
  });

  it('a write sent during the recovery waits for it and answers 200', async () => {
    cluster = await LocalCluster.start({ leaderEnv: { REPLICATION_TIMEOUT_MS: '8000' } });
    await writeMany(cluster.leader.url, 10);
    await cluster.leader.kill();
    // Three of five followers paused: the leader needs followers - quorum + 1 = 3 answers.
    for (const f of cluster.followers.slice(0, 3)) f.pause();
    await cluster.leader.start();
    expect((await leaderStatus(cluster)).state).toBe('recovering');
    const write = put(cluster.leader.url, 'during', 1, 1);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    cluster.followers[0].resume();
    const res = await write;
    expect(res.status).toBe(200);
    for (const f of cluster.followers.slice(1, 3)) f.resume();
  });

  it('two followers unreachable during recovery: every write acknowledged with the configured quorum is recovered', async () => {
    cluster = await LocalCluster.start();
    const acked = await writeMany(cluster.leader.url, 100, 3);
    await cluster.leader.kill();
    await cluster.followers[0].kill();
    await cluster.followers[1].kill();
    await cluster.leader.start();
    await serving(cluster);
    await expectAllPresent(cluster.leader.url, acked);
    // The two come back empty and are resynced; nothing is lost.
    await cluster.followers[0].start();
    await cluster.followers[1].start();
    await waitConverged(cluster.leader.url, followerUrls(cluster), 10_000);
  });

  it('a second leader against the same followers takes over without any follower dropping data; the first stands down', async () => {
    cluster = await LocalCluster.start();
    const acked = await writeMany(cluster.leader.url, 30);
    const second = new NodeProcess({
      name: 'second-leader',
      role: 'leader',
      script: path.resolve('dist/apps/leader/main.js'),
      host: '127.0.0.1',
      port: cluster.leader.port + 1000 > 65000 ? cluster.leader.port - 1000 : cluster.leader.port + 1000,
      env: { FOLLOWERS: followerUrls(cluster).join(','), WRITE_QUORUM: '3' },
    });
    try {
      await second.start();
      await waitFor(async () => (await status(second.url)).body.state === 'serving', 15_000, () => 'second leader not serving');
      await expectAllPresent(second.url, acked);
      expect(await put(second.url, 'from-second', 1, 5)).toMatchObject({ status: 200 });
      // The first leader hears 409 from its followers and stands down: its writes answer 503.
      await waitFor(async () => (await leaderStatus(cluster as LocalCluster)).state === 'fenced', 10_000, () => 'first leader not fenced');
      const refused = await put(cluster.leader.url, 'from-first', 1, 1);
      expect(refused.status).toBe(503);
      for (const f of followerUrls(cluster)) await expectAllPresent(f, acked);
      await waitConverged(second.url, followerUrls(cluster), 5000);
    } finally {
      await second.stop();
    }
  });
});
