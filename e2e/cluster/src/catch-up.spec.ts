import { LocalCluster, freePort } from '@kv/local-cluster';
import { listAll, status, waitConverged, waitFor } from './client';
import { FaultProxy } from './fault-proxy';
import { storm } from './storm';

interface FollowerStatus {
  url: string;
  ackedVersion: number;
  lag: number;
  state: string;
  lastError: string | null;
}
const followerStatuses = async (leader: string) => ((await status(leader)).body as { followers: FollowerStatus[] }).followers;

describe('followers never miss a write', () => {
  let cluster: LocalCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('catches up a follower killed with -9 during a storm and restarted empty, within 2 s', async () => {
    cluster = await LocalCluster.start({ leaderEnv: { WRITE_QUORUM: '2', MIN_DELAY_MS: '0', MAX_DELAY_MS: '10' } });
    const victim = cluster.followers[1];
    let restartedAt = 0;
    const result = await storm({
      leader: cluster.leader.url,
      writers: 8,
      writes: 3000,
      keys: 200,
      deleteEvery: 5,
      onOperation: async (i) => {
        if (i === 800) await victim.kill();
        if (i === 2000) {
          await victim.start();
          restartedAt = Date.now();
        }
      },
    });
    expect(result.notOk).toBe(0);
    expect(restartedAt).toBeGreaterThan(0);
    const stormEnded = Date.now();
    await waitConverged(cluster.leader.url, [victim.url], 2000);
    // Within 2 s of being up, counted from when it was up and the leader stopped changing.
    expect(Date.now() - Math.max(restartedAt, stormEnded)).toBeLessThan(2000);
    await waitConverged(cluster.leader.url, cluster.followers.map((f) => f.url), 2000);
  });

  it('marks a SIGSTOPped follower down, and after SIGCONT it converges and its lag returns to 0', async () => {
    cluster = await LocalCluster.start({ leaderEnv: { WRITE_QUORUM: '3' } });
    const paused = cluster.followers[0];
    paused.pause();
    const writing = storm({ leader: cluster.leader.url, writers: 4, writes: 100_000, keys: 100, deleteEvery: 7, deadlineMs: 4000 });
    await waitFor(
      async () => (await followerStatuses(cluster!.leader.url))[0].state === 'down',
      8000,
      async () => JSON.stringify((await followerStatuses(cluster!.leader.url))[0]),
    );
    const result = await writing;
    expect(result.notOk).toBe(0);
    const whilePaused = (await followerStatuses(cluster.leader.url))[0];
    expect(whilePaused.lag).toBeGreaterThan(0);
    expect(whilePaused.lastError).toMatch(/timeout/);

    paused.resume();
    await waitFor(
      async () => {
        const f = (await followerStatuses(cluster!.leader.url))[0];
        return f.state === 'up' && f.lag === 0 && f.lastError === null;
      },
      5000,
      async () => JSON.stringify((await followerStatuses(cluster!.leader.url))[0]),
    );
    await waitConverged(cluster.leader.url, [paused.url], 2000);
  });

  it('converges under random delays with deletes right after puts, and no deleted key comes back', async () => {
    cluster = await LocalCluster.start({ leaderEnv: { WRITE_QUORUM: '1', MIN_DELAY_MS: '0', MAX_DELAY_MS: '300' } });
    const leader = cluster.leader.url;
    const result = await storm({ leader, writers: 6, writes: 600, keys: 4, deleteEvery: 2, w: 1 });
    expect(result.notOk).toBe(0);
    const followers = cluster.followers.map((f) => f.url);
    await waitConverged(leader, followers, 2000 + 300);
    const settled = JSON.stringify(await listAll(leader));
    // Late messages are still in flight for up to the maximum delay: nothing may resurface.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(JSON.stringify(await listAll(leader))).toBe(settled);
    for (const f of followers) expect(JSON.stringify(await listAll(f))).toBe(settled);
  });

  it('retries a replication request that failed with 500 or a dropped connection', async () => {
    const ports = await Promise.all(Array.from({ length: 4 }, () => freePort()));
    const [leaderPort, f1Port, f2Port] = ports;
    const proxy = await FaultProxy.start(f2Port, ports[3]);
    try {
      cluster = await LocalCluster.start({
        followers: 2,
        ports: [leaderPort, f1Port, f2Port],
        // The proxy fails requests one by one: a POST per request, not the replication stream.
        leaderEnv: { WRITE_QUORUM: '2', FOLLOWERS: `http://127.0.0.1:${f1Port},http://127.0.0.1:${proxy.port}`, REPLICATION_STREAM: 'off' },
      });
      await waitFor(async () => (await followerStatuses(cluster!.leader.url)).every((f) => f.state === 'up'), 5000, () => 'followers up');
      proxy.failNext('http-500', 'drop-connection');
      const result = await storm({ leader: cluster.leader.url, writers: 1, writes: 20, keys: 5 });
      expect(result.ok).toBe(20);
      expect(proxy.faultsInjected).toEqual(['http-500', 'drop-connection']);
      await waitConverged(cluster.leader.url, cluster.followers.map((f) => f.url), 2000);
      const viaProxy = (await followerStatuses(cluster.leader.url))[1];
      expect(viaProxy).toMatchObject({ state: 'up', lag: 0, lastError: null });
    } finally {
      await proxy.close();
    }
  });
});
