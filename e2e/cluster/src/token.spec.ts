import { LocalCluster } from '@kv/local-cluster';
import { get, put, status, waitFor } from './client';

interface FollowerStatus {
  url: string;
  state: string;
  lastError: string | null;
}
const followerStatuses = async (leader: string) => ((await status(leader)).body as { followers: FollowerStatus[] }).followers;

/** A replication request forged by hand: it would overwrite `key` with a far newer version. */
async function forge(follower: string, key: string, headers: Record<string, string>) {
  const res = await fetch(`${follower}/replicate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ leaderEpoch: 8_000_000_000_000, entries: [{ key, version: 1_000_000, deleted: false, value: 'forged' }, { key: 'planted', version: 1_000_001, deleted: false, value: 'x' }] }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('CLUSTER_TOKEN between real processes', () => {
  let cluster: LocalCluster;
  let leader: string;

  beforeAll(async () => {
    cluster = await LocalCluster.start({
      followers: 3,
      env: { CLUSTER_TOKEN: 'a' },
      leaderEnv: { WRITE_QUORUM: '3', REPLICATION_TIMEOUT_MS: '3000' },
    });
    leader = cluster.leader.url;
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  /** Restarts the leader (empty: a new epoch) with another token; '' means none. */
  const restartLeader = async (token: string) => {
    await cluster.leader.stop();
    await cluster.leader.start({ CLUSTER_TOKEN: token });
  };

  it('replicates when the leader has the followers\' token', async () => {
    const res = await put(leader, 'shared', 'v1');
    expect(res).toMatchObject({ status: 200, body: { acks: 3, quorum: 3 } });
    for (const f of cluster.followers) expect((await get(f.url, 'shared')).body).toMatchObject({ value: 'v1', version: res.body.version });
    for (const f of await followerStatuses(leader)) expect(f).toMatchObject({ state: 'up', lastError: null });
  });

  it('refuses a forged replication request without the token, or with a wrong one, with 401, and changes nothing', async () => {
    const target = cluster.followers[0].url;
    const before = { read: await get(target, 'shared'), status: (await status(target)).body };
    const attempts: Array<Record<string, string>> = [{}, { 'x-cluster-token': 'b' }, { 'x-cluster-token': 'aa' }, { 'x-cluster-token': 'A' }];
    for (const headers of attempts) {
      const res = await forge(target, 'shared', headers);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: expect.stringMatching(/x-cluster-token/), code: 'UNAUTHORIZED' });
    }
    expect(await get(target, 'shared')).toEqual(before.read);
    expect((await get(target, 'planted')).status).toBe(404);
    expect((await status(target)).body).toEqual(before.status);
    const metrics = await (await fetch(`${target}/metrics`)).text();
    expect(metrics).toMatch(/^kv_replication_requests_received_total\{outcome="unauthorized"\} 4$/m);
    // The cluster still works: the real leader is not locked out by the forged (huge) epoch.
    expect(await put(leader, 'shared', 'v2')).toMatchObject({ status: 200 });
    expect((await get(target, 'shared')).body).toMatchObject({ value: 'v2' });
  });

  it('gives a leader with the wrong token no acks: its writes answer 503 and /status says why', async () => {
    await restartLeader('b');
    // Restarted, it must first hear from its followers (API.md guarantee 7); none lets it in,
    // so it never serves: writes wait REPLICATION_TIMEOUT_MS, then 503 naming the reason.
    const res = await put(leader, 'wrong-token', 1);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ code: 'UNAVAILABLE', error: expect.stringMatching(/HTTP 401: wrong x-cluster-token/) });
    let seen = '';
    await waitFor(
      async () => {
        const followers = await followerStatuses(leader);
        seen = JSON.stringify(followers);
        return followers.every((f) => f.lastError === 'HTTP 401: wrong x-cluster-token');
      },
      5000,
      () => `leader status: ${seen}`,
    );
    for (const f of cluster.followers) {
      expect((await get(f.url, 'wrong-token')).status).toBe(404);
      // Still following the old leader's history: nothing was dropped for the new epoch.
      expect((await get(f.url, 'shared')).body).toMatchObject({ value: 'v2' });
    }
    const metrics = await (await fetch(`${leader}/metrics`)).text();
    expect(metrics).toMatch(/^kv_replication_failures_total\{follower="[^"]+",kind="(heartbeat|append|recovery)"\} [1-9]\d*$/m);
  });

  it('gives a leader without a token no acks either', async () => {
    await restartLeader('');
    expect((await put(leader, 'no-token', 1)).status).toBe(503);
    await waitFor(
      async () => (await followerStatuses(leader)).every((f) => /^HTTP 401: missing x-cluster-token header/.test(f.lastError ?? '')),
      5000,
      async () => JSON.stringify(await followerStatuses(leader)),
    );
    for (const f of cluster.followers) expect((await get(f.url, 'no-token')).status).toBe(404);
  });

  it('lets followers without a token accept a leader that sends one', async () => {
    for (const f of cluster.followers) {
      await f.stop();
      await f.start({ CLUSTER_TOKEN: '' });
    }
    await restartLeader('a');
    const res = await put(leader, 'open', 'ok');
    expect(res).toMatchObject({ status: 200, body: { acks: 3 } });
    for (const f of cluster.followers) expect((await get(f.url, 'open')).body).toMatchObject({ value: 'ok' });
  });
});
