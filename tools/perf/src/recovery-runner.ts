/**
 * One recovery case: a launched six-node cluster in memory (WRITE_QUORUM 3), a scenario's
 * keys written with w=5, then the leader killed with `kill -9` and started again, timed until
 * its `/status` says `serving`. Every follower is up, so the leader needs no grace wait: it
 * hears from all five, then copies the newest one's state. Later runs kill the recovered leader
 * again; the followers' state, and so the work, is the same each time.
 */
import { performance } from 'node:perf_hooks';
import { KvClient } from '@kv/client';
import { LocalCluster } from '@kv/local-cluster';
import type { LeaderStatus } from '@kv/protocol';
import { DIST_DIR, leaderStatus, pollUntil, scenarioKeys, writeKeys } from './cluster-probe';
import { LoadClient } from './load-client';
import { metricValue } from './prometheus-text';
import { listingPageSize, type SizeScenario } from './size-scenario';
import { compareListings, describeDiff, listingOf } from './state-listing';

/** No recovery may take longer than this, in ms: it is a hang. */
const RECOVERY_LIMIT_MS = 120_000;

/** One leader restart. */
export interface RecoveryRun {
  /** From spawning the leader process to its `/status` showing `"state": "serving"`, in ms. */
  readonly recoveryMs: number;
  /** From spawning it to its `/health` answering 200 (Node's start and the app's), in ms. */
  readonly healthMs: number;
  /** The leader's resident set after recovery (`process_resident_memory_bytes`), in MiB. */
  readonly leaderRssMiB: number;
  /** Keys the leader listed after recovery, every one at the version and with the value it had before the kill. */
  readonly keysVerified: number;
}

/** Measures `runs` leader recoveries of `scenario`; `log` gets one line per run. Throws if any key is lost or changed. */
export async function measureRecoveryCase(scenario: SizeScenario, runs: number, log: (line: string) => void): Promise<{ writeSeconds: number; runs: RecoveryRun[] }> {
  const cluster = await LocalCluster.start({ distDir: DIST_DIR, env: { LOG_LEVEL: 'warn' } });
  const load = LoadClient.start();
  const client = new KvClient({ endpoints: cluster.nodes.map((n) => n.url), timeoutMs: 60_000 });
  try {
    const w = cluster.followers.length;
    const keys = scenarioKeys(`recovery-${scenario.name}`, scenario);
    const writeSeconds = await writeKeys(load, cluster.leader.url, keys, scenario, w, `recovery-${scenario.name}`);
    const pageSize = listingPageSize(scenario.valueBytes);
    const expected = await listingOf(client, cluster.leader.url, pageSize);
    if (expected.size !== keys.length) throw new Error(`the leader lists ${expected.size} keys after ${keys.length} writes`);
    const results: RecoveryRun[] = [];
    for (let run = 1; run <= runs; run++) {
      await cluster.leader.kill();
      const spawned = performance.now();
      await cluster.leader.start();
      const healthMs = performance.now() - spawned;
      let last: LeaderStatus | undefined;
      const recoveryMs = await pollUntil(
        async () => {
          try {
            last = await leaderStatus(client, cluster.leader.url);
          } catch {
            return false;
          }
          return last.state === 'serving';
        },
        spawned,
        RECOVERY_LIMIT_MS,
        () => `the leader did not serve: ${JSON.stringify({ state: last?.state, reason: last?.reason, recovery: last?.recovery })}`,
      );
      const actual = await listingOf(client, cluster.leader.url, pageSize);
      const diff = compareListings(expected, actual);
      if (diff.count > 0) throw new Error(`after recovery ${run}, ${describeDiff(diff)}`);
      const leaderRssMiB = metricValue(await client.metrics({ endpoint: cluster.leader.url }), 'process_resident_memory_bytes') / 2 ** 20;
      results.push({ recoveryMs, healthMs, leaderRssMiB, keysVerified: actual.size });
      log(
        `${scenario.name} (${scenario.keys} x ${scenario.valueBytes} B), run ${run}/${runs}: /health after ${healthMs.toFixed(0)} ms, ` +
          `serving after ${recoveryMs.toFixed(0)} ms; ${actual.size} keys verified; leader RSS ${leaderRssMiB.toFixed(0)} MiB`,
      );
    }
    return { writeSeconds, runs: results };
  } finally {
    client.close();
    await load.close();
    await cluster.stop();
  }
}
