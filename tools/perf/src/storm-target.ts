import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KvClient } from '@kv/client';
import { LocalCluster, NodeProcess, freePort } from '@kv/local-cluster';
import type { DelayModel } from './delay-model';
import type { StormPlan } from './storm-plan';

/** The cluster a storm writes to, however it came to be. */
export interface ClusterTarget {
  readonly leaderUrl: string;
  readonly followerUrls: readonly string[];
  /** True when this run launched the cluster (and so knows its delays for sure). */
  readonly launched: boolean;
  /** The follower count the leader reports: the n of the theory. */
  readonly leaderFollowers: number;
  /** The processes of a launched cluster (leader first), for their CPU time; empty for an existing one. */
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

/** Nodes log at `warn`: the run reads their output only to explain a failure. */
const NODE_LOG_LEVEL = 'warn';

/**
 * Launches a leader and `followers` followers on free loopback ports with the given delays.
 * `leaderExtraEnv` (a profiler's NODE_OPTIONS, say) applies to the leader alone. With
 * `durability`, every node journals to its own directory under a fresh temporary one,
 * removed when the cluster stops.
 */
export async function launchLocalCluster(
  delays: DelayModel,
  distDir: string,
  leaderExtraEnv: Readonly<Record<string, string>> = {},
  durability: StormPlan['durability'] = null,
  nodeExtraEnv: Readonly<Record<string, string>> = {},
): Promise<ClusterTarget> {
  const dataRoot = durability ? await mkdtemp(path.join(os.tmpdir(), 'kv-storm-data-')) : undefined;
  const removeData = async () => {
    if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
  };
  let cluster: LocalCluster;
  try {
    cluster = await LocalCluster.start({
      followers: delays.followers,
      host: '127.0.0.1',
      distDir,
      dataRoot,
      env: { LOG_LEVEL: NODE_LOG_LEVEL, ...(durability ? { FSYNC: durability.fsync } : {}), ...nodeExtraEnv },
    leaderEnv: {
      MIN_DELAY_MS: String(delays.minDelayMs),
      MAX_DELAY_MS: String(delays.maxDelayMs),
      WRITE_QUORUM: String(Math.min(3, delays.followers)),
      ...leaderExtraEnv,
      },
    });
  } catch (error) {
    await removeData();
    throw error;
  }
  return {
    leaderUrl: cluster.leader.url,
    followerUrls: cluster.followers.map((f) => f.url),
    launched: true,
    leaderFollowers: delays.followers,
    pids: cluster.nodes.map((node) => node.pid).filter((pid): pid is number => pid !== undefined),
    stop: () => cluster.stop().finally(removeData),
  };
}

/**
 * A cluster someone else runs (a compose cluster, say): checks that the leader is a leader and
 * every follower a follower, and reads the leader's follower count for the theory. It is never
 * stopped by this run.
 */
export async function connectExistingCluster(leaderUrl: string, followerUrls: readonly string[]): Promise<ClusterTarget> {
  const client = new KvClient({ endpoints: [leaderUrl, ...followerUrls], timeoutMs: 5000, retries: 0 });
  try {
    const status = await client.status({ endpoint: leaderUrl });
    if (status.role !== 'leader' || !Array.isArray(status.followers)) throw new Error(`${leaderUrl} is not a leader: /status answered ${JSON.stringify(status)}`);
    for (const url of followerUrls) {
      const health = await client.health({ endpoint: url });
      if (health.role !== 'follower') throw new Error(`${url} is not a follower: /health answered ${JSON.stringify(health)}`);
    }
    return { leaderUrl, followerUrls, launched: false, leaderFollowers: status.followers.length, pids: [], stop: async () => undefined };
  } finally {
    client.close();
  }
}

/** The reference server of `reference-server.js`, next to the running bundle, as its own process. */
export async function launchReferenceServer(delays: DelayModel, script = path.join(__dirname, 'reference-server.js')): Promise<NodeProcess> {
  const reference = new NodeProcess({
    name: 'reference',
    role: 'leader',
    script,
    host: '127.0.0.1',
    port: await freePort(),
    env: { FOLLOWER_COUNT: String(delays.followers), MIN_DELAY_MS: String(delays.minDelayMs), MAX_DELAY_MS: String(delays.maxDelayMs) },
  });
  await reference.start();
  return reference;
}
