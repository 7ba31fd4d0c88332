import { VersionedStore } from '@kv/store';
import { ReplicationLeader, systemClock, type Clock } from '@kv/replication';
import { createRegistry, type LeaderConfig, type Logger } from '@kv/node-kit';
import type { Express } from 'express';
import { createHttpTransport } from './http-transport';
import { createLeaderApp } from './app';
import { leaderMetrics } from './leader-metrics';

/** How long one replication request may go unanswered before it counts as failed. */
export const REPLICATION_REQUEST_TIMEOUT_MS = 2000;

export interface LeaderNode {
  readonly app: Express;
  readonly leader: ReplicationLeader;
  close(): Promise<void>;
}

/** Wires store, replication, transport, metrics and routes into one leader. */
export function createLeaderNode(config: LeaderConfig, logger: Logger, options: { clock?: Clock; defaultMetrics?: boolean } = {}): LeaderNode {
  const registry = createRegistry({ defaultMetrics: options.defaultMetrics ?? false });
  const transport = createHttpTransport({ clusterToken: config.clusterToken, requestTimeoutMs: REPLICATION_REQUEST_TIMEOUT_MS });
  // Metrics read the leader on scrape; the leader reports to metrics: tie the knot lazily.
  const built: { leader?: ReplicationLeader } = {};
  const metrics = leaderMetrics(registry, () => built.leader as ReplicationLeader);
  const leader = new ReplicationLeader({
    store: new VersionedStore(),
    // Newer than any epoch a previous run of this leader used, so followers drop that history.
    epoch: Date.now(),
    followers: config.followers,
    replication: { minDelayMs: config.minDelayMs, maxDelayMs: config.maxDelayMs },
    replicationTimeoutMs: config.replicationTimeoutMs,
    transport,
    clock: options.clock ?? systemClock,
    observer: {
      ...metrics.observer,
      stateChanged(follower, from, to, lastError) {
        const line = `follower ${follower} ${from} -> ${to}${lastError ? ` (${lastError})` : ''}`;
        if (to === 'down') logger.warn({ follower, state: to }, line);
        else logger.info({ follower, state: to }, line);
      },
    },
  });
  built.leader = leader;
  const app = createLeaderApp({ leader, writeQuorum: config.writeQuorum, logger, registry, metrics });
  return {
    app,
    leader,
    async close() {
      leader.stop();
      transport.close();
    },
  };
}
