import { LocalCluster } from '@kv/local-cluster';
import { ENTRIES_PATH, MAX_SAFE_VERSION, type EntriesPage } from '@kv/protocol';
import { call, listAll, status, waitCaughtUp, waitConverged } from './client';
import { storm } from './storm';
import { WriteHistory } from './write-history';

/**
 * The leader killed with -9 in the middle of a storm of puts and deletes and started again
 * at once, in memory (it recovers from its followers): no acknowledged write is lost
 * (API.md guarantees 1 and 7), and once the storm ends every follower holds exactly the
 * leader's state (guarantee 2). A follower that does not converge is reported with every
 * node's own account of itself, so the cause can be found from one failed run.
 */
interface Scenario {
  readonly writers: number;
  readonly writes: number;
  readonly keys: number;
  /** Every n-th operation deletes the key the one before it wrote. */
  readonly deleteEvery: number;
  /** `?w=` of every write. */
  readonly w: number;
  /** The leader's WRITE_QUORUM: what its recovery must hear (followers − quorum + 1). */
  readonly writeQuorum: number;
  readonly killLeaderAt: number;
  /** A follower killed with -9 at the first operation and started empty at the second. */
  readonly follower?: { readonly killAt: number; readonly restartAt: number };
}

/** How long every follower gets to equal the leader once writes stop: the contract's 2 s plus a loaded 2-core machine's slack. */
const CONVERGENCE_MS = 15_000;

const scenarios: ReadonlyArray<readonly [string, Scenario]> = [
  ['12 writers at w=3, the leader killed at write 700 of 1,500', { writers: 12, writes: 1500, keys: 160, deleteEvery: 4, w: 3, writeQuorum: 3, killLeaderAt: 700 }],
  [
    '16 writers at w=2, a follower killed at write 400 and started empty at 900, the leader killed at 650',
    { writers: 16, writes: 1500, keys: 160, deleteEvery: 3, w: 2, writeQuorum: 2, killLeaderAt: 650, follower: { killAt: 400, restartAt: 900 } },
  ],
  // One ack frees a writer: writes reach the leader while the slower followers still join its history.
  ['12 writers at w=1, the leader killed at write 700 of 1,500', { writers: 12, writes: 1500, keys: 160, deleteEvery: 4, w: 1, writeQuorum: 1, killLeaderAt: 700 }],
];

// LEADER_CRASH_SCENARIO='{"writers":24,"killLeaderAt":300}' reruns every scenario with those changes (a hunt).
const override = JSON.parse(process.env.LEADER_CRASH_SCENARIO ?? '{}') as Partial<Scenario>;

describe('a leader killed mid-storm and restarted at once, in memory', () => {
  let cluster: LocalCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it.each(scenarios)('%s: no acknowledged write lost, every follower converges to the leader', async (_name, base) => {
    const scenario: Scenario = { ...base, ...override };
    const c = await LocalCluster.start({ leaderEnv: { WRITE_QUORUM: String(scenario.writeQuorum), MIN_DELAY_MS: '0', MAX_DELAY_MS: '30' } });
    cluster = c;
    const victim = c.followers[1];
    const history = new WriteHistory();
    let leaderRestarted = false;
    const result = await storm({
      leader: c.leader.url,
      writers: scenario.writers,
      writes: scenario.writes,
      keys: scenario.keys,
      deleteEvery: scenario.deleteEvery,
      w: scenario.w,
      // While the leader is down its port refuses; during its recovery writes wait, then 503.
      unreachablePauseMs: 100,
      deadlineMs: 40_000,
      onOutcome: (outcome) => history.record(outcome),
      onOperation: async (index) => {
        if (index === scenario.killLeaderAt) {
          await c.leader.kill();
          await c.leader.start();
          leaderRestarted = true;
        }
        if (index === scenario.follower?.killAt) await victim.kill();
        if (index === scenario.follower?.restartAt) await victim.start();
      },
    });
    const stormEnded = Date.now();
    expect(leaderRestarted).toBe(true);
    if (scenario.follower) expect(victim.running).toBe(true);
    await c.leaderServing();

    const leaderItems = await listAll(c.leader.url);
    expect(history.violations(leaderItems)).toEqual([]);
    expect(history.acknowledged).toBeGreaterThan(scenario.writes / 2);
    const followers = c.followers.map((f) => f.url);
    const tookMs = await waitConverged(c.leader.url, followers, CONVERGENCE_MS, { diagnose: () => diagnose(c) });
    const listedAt = Date.now() - stormEnded;
    await waitCaughtUp(c.leader.url, followers, Math.max(1000, CONVERGENCE_MS - listedAt), { diagnose: () => diagnose(c) });
    // One line per run, so repeated runs give figures (statuses: 0 = no answer while the leader was down).
    console.log(
      `converged ${listedAt} ms after the storm (${tookMs} ms polling), caught up after ${Date.now() - stormEnded} ms; ${history.acknowledged} acknowledged, statuses ${JSON.stringify(result.statuses)}`,
    );
  });
});

/** Every node's account of itself: the leader's status and log, each follower's status, readiness, position and log. */
async function diagnose(c: LocalCluster): Promise<string> {
  const lines = [`leader /status: ${JSON.stringify((await status(c.leader.url)).body)}`];
  for (const f of c.followers) {
    const ask = await call<EntriesPage>('POST', `${f.url}${ENTRIES_PATH}`, { afterVersion: MAX_SAFE_VERSION, maxBytes: 1 });
    lines.push(
      `${f.name} ${f.url} (pid ${f.pid}) /status: ${JSON.stringify((await status(f.url)).body)}`,
      `  /readyz: ${JSON.stringify((await call('GET', `${f.url}/readyz`)).body)}`,
      `  position: ${JSON.stringify(ask.body.position)}`,
      ...f.lines.filter((l) => /epoch|resync|error|warn|fatal/i.test(l)).slice(-10).map((l) => `  log: ${l}`),
    );
  }
  lines.push('leader log (followers, syncs, recovery):', ...c.leader.lines.filter((l) => /follower|resync|recover|leading|standing/i.test(l)).slice(-60).map((l) => `  ${l}`));
  return lines.join('\n');
}
