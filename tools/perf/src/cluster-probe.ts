/**
 * Process-side helpers the catch-up and recovery benchmarks share: loading a scenario's keys
 * into a launched cluster and polling nodes until a condition holds. No statistics here.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { KvClient } from '@kv/client';
import type { LeaderStatus } from '@kv/protocol';
import type { LoadClient } from './load-client';
import { stringLengthFor, type SizeScenario } from './size-scenario';

/** The bundles sit in dist/tools/perf; the leader and follower builds in dist/apps. */
export const DIST_DIR = path.resolve(__dirname, '..', '..');

/** The leader's `/status`; throws when the node answering is not the leader. */
export async function leaderStatus(client: KvClient, leaderUrl: string): Promise<LeaderStatus> {
  const status = await client.status({ endpoint: leaderUrl });
  if (status.role !== 'leader') throw new Error(`${leaderUrl} is not the leader`);
  return status;
}

/** The keys of a scenario, `<prefix>-0` … `<prefix>-(keys-1)`. */
export function scenarioKeys(prefix: string, scenario: SizeScenario): string[] {
  return Array.from({ length: scenario.keys }, (_, i) => `${prefix}-${i}`);
}

/**
 * Writes every key of `keys` once, with values of the scenario's size and quorum `w`, by the
 * scenario's writers over keep-alive connections; throws unless every write answered 200.
 * Returns how long it took, in seconds.
 */
export async function writeKeys(load: LoadClient, leaderUrl: string, keys: readonly string[], scenario: SizeScenario, w: number, label: string): Promise<number> {
  const sample = await load.storm({
    targetUrl: leaderUrl,
    quorum: w,
    writes: keys.length,
    concurrency: scenario.writers,
    keys,
    valueSize: stringLengthFor(scenario.valueBytes),
    label,
    timeLimitMs: 600_000,
    requestTimeoutMs: 30_000,
  });
  if (sample.succeeded !== keys.length) throw new Error(`only ${sample.succeeded} of ${keys.length} writes succeeded: ${JSON.stringify(sample.failures)}`);
  return sample.durationMs / 1000;
}

/**
 * Polls `check` every `intervalMs` until it returns true; resolves with the ms from `since`
 * (a `performance.now()` reading) to the poll that saw it. Throws with `describe()` after `limitMs`.
 */
export async function pollUntil(check: () => Promise<boolean>, since: number, limitMs: number, describe: () => string, intervalMs = 10): Promise<number> {
  for (;;) {
    if (await check()) return performance.now() - since;
    if (performance.now() - since > limitMs) throw new Error(`not within ${limitMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
