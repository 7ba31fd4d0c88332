import { LocalCluster } from '@kv/local-cluster';
import { call, get, put, status, waitConverged, waitFor } from './client';

/** A write with precondition headers; answers status, body and the time it took (ms). */
async function write(url: string, value: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown>; ms: number }> {
  const started = performance.now();
  const res = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ value }),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, ms: performance.now() - started };
}

describe('compare-and-set across real processes', () => {
  let cluster: LocalCluster;
  let leader: string;

  beforeAll(async () => {
    cluster = await LocalCluster.start({ leaderEnv: { WRITE_QUORUM: '3', MIN_DELAY_MS: '5', MAX_DELAY_MS: '60' } });
    leader = cluster.leader.url;
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('of 20 clients racing ifVersion on one key, exactly one wins each round; the rest get 412 with its version', async () => {
    const created = await write(`${leader}/kv/race`, 'start', { 'If-None-Match': '*' });
    expect(created.status).toBe(200);
    for (let round = 0; round < 5; round++) {
      const read = await fetch(`${leader}/kv/race`);
      const etag = read.headers.get('etag');
      const current = ((await read.json()) as { version: number }).version;
      expect(etag).toBe(`"${current}"`);
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          // Half use the query form, half the ETag: the same condition.
          i % 2 === 0 ? write(`${leader}/kv/race?ifVersion=${current}`, `round ${round} writer ${i}`) : write(`${leader}/kv/race`, `round ${round} writer ${i}`, { 'If-Match': etag as string }),
        ),
      );
      const winners = answers.filter((a) => a.status === 200);
      expect(winners).toHaveLength(1);
      const winner = winners[0].body as { version: number };
      expect(winner.version).toBeGreaterThan(current);
      for (const loser of answers.filter((a) => a.status !== 200)) {
        expect(loser.status).toBe(412);
        expect(loser.body).toMatchObject({ code: 'VERSION_MISMATCH', key: 'race', version: winner.version });
      }
      const winningValue = `round ${round} writer ${answers.indexOf(winners[0])}`;
      expect((await get(leader, 'race')).body).toMatchObject({ value: winningValue, version: winner.version });
      // Losers used no version: the next write gets the next one.
      const s = (await status(leader)).body as { version: number };
      expect(s.version).toBe(winner.version);
    }
    await waitConverged(leader, cluster.followers.map((f) => f.url), 5000);
    const final = (await get(leader, 'race')).body;
    for (const f of cluster.followers) expect((await get(f.url, 'race')).body).toEqual(final);
  });

  it('create-only: of 20 clients with If-None-Match: *, exactly one creates the key', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => write(`${leader}/kv/once`, i, { 'If-None-Match': '*' })));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 412)).toHaveLength(19);
  });

  it('followers refuse conditional writes with 403 NOT_LEADER', async () => {
    const res = await write(`${cluster.followers[0].url}/kv/race?ifVersion=1`, 'x');
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: 'NOT_LEADER', leader });
  });
});

describe('MIN_FOLLOWERS_TO_WRITE across real processes', () => {
  const maxLagMs = 1000;
  let cluster: LocalCluster;
  let leader: string;

  beforeAll(async () => {
    cluster = await LocalCluster.start({
      leaderEnv: { WRITE_QUORUM: '1', MIN_FOLLOWERS_TO_WRITE: '3', MIN_FOLLOWERS_MAX_LAG_MS: String(maxLagMs) },
    });
    leader = cluster.leader.url;
  });
  afterAll(async () => {
    for (const f of cluster?.followers ?? []) f.resume();
    await cluster?.stop();
  });

  const inSync = async () => ((await status(leader)).body as { inSync: number }).inSync;

  it('refuses at once, applying nothing, while three of five followers are stopped; accepts again within the lag bound after they resume', async () => {
    await waitFor(async () => (await inSync()) === 5, 5000, async () => `inSync ${await inSync()}`);
    expect(await put(leader, 'guarded', 'before')).toMatchObject({ status: 200 });
    await waitConverged(leader, cluster.followers.map((f) => f.url), 5000);
    const versionBefore = ((await status(leader)).body as { version: number }).version;

    const stopped = cluster.followers.slice(0, 3);
    for (const f of stopped) f.pause();
    // Their last answers age out of the window.
    await waitFor(async () => (await inSync()) === 2, maxLagMs + 3000, async () => `inSync ${await inSync()}`);

    const refused = await write(`${leader}/kv/guarded`, 'during');
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({ error: expect.any(String), code: 'NOT_ENOUGH_FOLLOWERS', inSync: 2, required: 3 });
    expect(refused.ms).toBeLessThan(500);
    expect((await call('DELETE', `${leader}/kv/guarded`)).body).toMatchObject({ code: 'NOT_ENOUGH_FOLLOWERS' });
    expect(((await status(leader)).body as { version: number }).version).toBe(versionBefore);
    expect((await get(leader, 'guarded')).body).toMatchObject({ value: 'before', version: versionBefore });
    for (const f of cluster.followers.slice(3)) {
      expect((await status(f.url)).body).toMatchObject({ appliedVersion: versionBefore });
    }
    const metrics = await (await fetch(`${leader}/metrics`)).text();
    expect(metrics).toMatch(/kv_writes_refused_total\{reason="NOT_ENOUGH_FOLLOWERS"\} 2/);

    for (const f of stopped) f.resume();
    const resumedAt = performance.now();
    await waitFor(async () => (await inSync()) >= 3, maxLagMs + 3000, async () => `inSync ${await inSync()}`);
    expect(performance.now() - resumedAt).toBeLessThan(maxLagMs + 2000);
    // Nothing was applied while they were stopped: every node still at the old version.
    for (const f of cluster.followers) expect((await get(f.url, 'guarded')).body).toMatchObject({ value: 'before', version: versionBefore });
    const accepted = await write(`${leader}/kv/guarded`, 'after');
    expect(accepted.status).toBe(200);
    expect(accepted.body.version).toBe(versionBefore + 1);
  });
});
