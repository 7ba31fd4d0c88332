/**
 * One catch-up case: a launched six-node cluster (in memory, WRITE_QUORUM 2), the last
 * follower taken down while a scenario's keys are written, then restarted the chosen way,
 * timed from the moment it answers `/health` until the leader reports it `up` with lag 0.
 * The cluster is launched once per case: later runs kill the follower again (and, for a
 * delta, write the keys again while it is down) rather than writing everything anew.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { KvClient } from '@kv/client';
import { LocalCluster, type NodeProcess } from '@kv/local-cluster';
import type { FollowerStatus } from '@kv/protocol';
import type { RestartMode } from './catch-up-plan';
import { DIST_DIR, leaderStatus, pollUntil, scenarioKeys, writeKeys } from './cluster-probe';
import { LoadClient } from './load-client';
import { metricValue } from './prometheus-text';
import type { SizeScenario } from './size-scenario';

/** No catch-up may take longer than this, in ms: the contract says 2 s; this is a hang. */
const CATCH_UP_LIMIT_MS = 120_000;
const LOAD_QUORUM = 2;
/** How long the leader may take to mark a killed follower down, in ms (a heartbeat and three failed tries take about 0.6 s). */
const DOWN_LIMIT_MS = 10_000;

/** One measurement. */
export interface CatchUpRun {
  /** From the restarted follower answering `/health` to the leader's `/status` showing it `up` with lag 0, in ms. */
  readonly catchUpMs: number;
  /** The leader's `kv_full_resyncs_total` for this follower rose: it was a full resync, not a delta. */
  readonly fullResync: boolean;
  /** `/status` showed `lastError: "full resync: …"` for this follower at some poll. */
  readonly resyncShownInStatus: boolean;
  /** Seconds the writes it missed took, when this run wrote them (null: written for an earlier run). */
  readonly writeSeconds: number | null;
}

/** What each restart mode must turn into on the leader, or the figure is mislabelled. */
const EXPECTED_FULL_RESYNC: Readonly<Record<RestartMode, boolean | null>> = { empty: null, resync: true, disk: false };

async function fullResyncs(client: KvClient, leaderUrl: string, followerUrl: string): Promise<number> {
  return metricValue(await client.metrics({ endpoint: leaderUrl }), 'kv_full_resyncs_total', { follower: followerUrl });
}

/**
 * Kills `victim` and waits until the leader shows it `down`. Without the wait, a follower
 * killed and restarted at once (no writes in between) finds the leader's `/status` still
 * showing its previous process `up` with lag 0 until the next heartbeat: the timer would stop
 * at once, with the new, empty process holding nothing.
 */
async function killAndSeeDown(client: KvClient, cluster: LocalCluster, victim: NodeProcess, followerIndex: number): Promise<void> {
  await victim.kill();
  let last: FollowerStatus | undefined;
  await pollUntil(
    async () => (last = (await leaderStatus(client, cluster.leader.url)).followers[followerIndex]).state === 'down',
    performance.now(),
    DOWN_LIMIT_MS,
    () => `the leader never showed the killed follower down: ${JSON.stringify(last)}`,
  );
}

/** Restarts `victim` and times its catch-up (see CatchUpRun). */
async function timeRestart(client: KvClient, cluster: LocalCluster, victim: NodeProcess, followerIndex: number, writeSeconds: number | null): Promise<CatchUpRun> {
  const followerUrl = (await leaderStatus(client, cluster.leader.url)).followers[followerIndex].url;
  const resyncsBefore = await fullResyncs(client, cluster.leader.url, followerUrl);
  await victim.start();
  const up = performance.now();
  let last: FollowerStatus | undefined;
  let resyncShownInStatus = false;
  const catchUpMs = await pollUntil(
    async () => {
      last = (await leaderStatus(client, cluster.leader.url)).followers[followerIndex];
      if (last.lastError?.startsWith('full resync:')) resyncShownInStatus = true;
      return last.lag === 0 && last.state === 'up';
    },
    up,
    CATCH_UP_LIMIT_MS,
    () => `no catch-up: ${JSON.stringify(last)}`,
  );
  const [leaderKeys, victimKeys] = await Promise.all([
    leaderStatus(client, cluster.leader.url).then((s) => s.keys),
    client.status({ endpoint: victim.url }).then((s) => s.keys),
  ]);
  if (victimKeys !== leaderKeys) throw new Error(`caught-up follower holds ${victimKeys} keys, the leader ${leaderKeys}`);
  const fullResync = (await fullResyncs(client, cluster.leader.url, followerUrl)) > resyncsBefore;
  return { catchUpMs, fullResync, resyncShownInStatus, writeSeconds };
}

/** Measures `runs` catch-ups of `scenario` with the follower coming back as `restart` says; `log` gets one line per run. */
export async function measureCatchUpCase(scenario: SizeScenario, restart: RestartMode, runs: number, log: (line: string) => void): Promise<CatchUpRun[]> {
  // A full resync needs a forgotten tombstone; deletes are kept 60 s by default (API.md, Watch).
  const retention: Record<string, string> = restart === 'resync' ? { TOMBSTONE_RETENTION_MS: '0' } : {};
  const cluster = await LocalCluster.start({ distDir: DIST_DIR, env: { LOG_LEVEL: 'warn', ...retention }, leaderEnv: { WRITE_QUORUM: String(LOAD_QUORUM) } });
  const load = LoadClient.start();
  const client = new KvClient({ endpoints: cluster.nodes.map((n) => n.url), timeoutMs: 30_000 });
  let dataDir: string | null = null;
  try {
    const followerIndex = cluster.followers.length - 1;
    const victim = cluster.followers[followerIndex];
    if (restart === 'disk') {
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'kv-catchup-'));
      await victim.kill();
      await victim.start({ DATA_DIR: dataDir });
      // A write all five hold: the follower's DATA_DIR now holds this leader's history, so coming back on it is a delta.
      await client.put('catchup-marker', 1, { w: cluster.followers.length });
    }
    if (restart === 'resync') {
      // A delete every follower acknowledged: the leader forgets its tombstone, so an empty follower can no longer be sent a delta.
      await client.put('catchup-horizon', 1, { w: cluster.followers.length });
      await client.delete('catchup-horizon', { w: cluster.followers.length });
    }
    const keys = scenarioKeys(`catchup-${scenario.name}`, scenario);
    const label = `catchup-${scenario.name}-${restart}`;
    const results: CatchUpRun[] = [];
    for (let run = 1; run <= runs; run++) {
      await killAndSeeDown(client, cluster, victim, followerIndex);
      const writeSeconds = run === 1 || restart === 'disk' ? await writeKeys(load, cluster.leader.url, keys, scenario, LOAD_QUORUM, `${label}-${run}`) : null;
      const result = await timeRestart(client, cluster, victim, followerIndex, writeSeconds);
      const expected = EXPECTED_FULL_RESYNC[restart];
      if (expected !== null && result.fullResync !== expected) {
        throw new Error(`restart "${restart}" was caught up by ${result.fullResync ? 'a full resync' : 'a delta'}, not ${expected ? 'a full resync' : 'a delta'}`);
      }
      results.push(result);
      const written = writeSeconds === null ? 'keys written before' : `written in ${writeSeconds.toFixed(1)} s`;
      log(`${scenario.name} (${scenario.keys} x ${scenario.valueBytes} B), restart ${restart}, run ${run}/${runs}: ${written}; caught up by ${result.fullResync ? 'a full resync' : 'a delta'} in ${result.catchUpMs.toFixed(0)} ms`);
    }
    return results;
  } finally {
    client.close();
    await load.close();
    await cluster.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
}
