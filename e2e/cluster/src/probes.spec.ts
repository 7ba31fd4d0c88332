import { LocalCluster } from '@kv/local-cluster';
import { call, waitFor } from './client';

/** API.md, Probes, against real processes: what a Kubernetes readinessProbe would see. */
describe('/livez and /readyz on both roles', () => {
  let cluster: LocalCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  const readyz = async (url: string) => call('GET', `${url}/readyz`);

  it('every node is live and ready in a healthy cluster; a leader with fewer than WRITE_QUORUM followers up is not ready', async () => {
    cluster = await LocalCluster.start({ leaderEnv: { WRITE_QUORUM: '3' }, followerEnv: { MIN_FOLLOWERS_MAX_LAG_MS: '1500' } });
    const c = cluster;
    for (const node of c.nodes) {
      expect(await call('GET', `${node.url}/livez`)).toEqual({ status: 200, body: { status: 'ok' } });
      await waitFor(async () => (await readyz(node.url)).status === 200, 10_000, async () => `${node.name}: ${JSON.stringify((await readyz(node.url)).body)}`);
    }
    for (const f of c.followers.slice(0, 3)) await f.kill();
    await waitFor(async () => (await readyz(c.leader.url)).status === 503, 10_000, () => 'leader still ready with 2 followers up');
    expect((await readyz(c.leader.url)).body).toMatchObject({ status: 'not-ready', reason: '2 followers up, fewer than the write quorum 3' });
    // Live all the same: a liveness probe must not restart a leader that waits for followers.
    expect((await call('GET', `${c.leader.url}/livez`)).status).toBe(200);
  });

  it('a follower that has not heard from its leader for MIN_FOLLOWERS_MAX_LAG_MS is not ready, and is again once it has', async () => {
    cluster = await LocalCluster.start({ followerEnv: { MIN_FOLLOWERS_MAX_LAG_MS: '1000' } });
    const c = cluster;
    const follower = c.followers[0].url;
    await waitFor(async () => (await readyz(follower)).status === 200, 10_000, () => 'follower never ready');
    c.leader.pause();
    try {
      await waitFor(async () => (await readyz(follower)).status === 503, 5000, () => 'follower still ready without its leader');
      expect((await readyz(follower)).body).toMatchObject({ status: 'not-ready', reason: expect.stringMatching(/^has not heard from its leader for \d+ ms$/) });
    } finally {
      c.leader.resume();
    }
    await waitFor(async () => (await readyz(follower)).status === 200, 5000, () => 'follower not ready again');
  });
});
