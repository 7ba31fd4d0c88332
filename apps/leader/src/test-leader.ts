import type { RequestListener } from 'node:http';
import pino from 'pino';
import { VersionedStore } from '@kv/store';
import { FollowerReplica, ReplicationLeader, systemClock, type Clock, type ReplicationTransport } from '@kv/replication';
import { createRegistry, type Logger } from '@kv/node-kit';
import type { Registry } from 'prom-client';
import { createLeaderApp } from './app';
import { leaderMetrics } from './leader-metrics';
import { LeaderService } from './leader-service';

export interface TestLeaderOptions {
  readonly followers: readonly string[];
  readonly transport: ReplicationTransport;
  readonly writeQuorum: number;
  readonly replicationTimeoutMs?: number;
  readonly logger?: Logger;
  readonly clusterToken?: string;
  /** MIN_FOLLOWERS_TO_WRITE and MIN_FOLLOWERS_MAX_LAG_MS. */
  readonly minFollowersToWrite?: number;
  readonly inSyncMaxLagMs?: number;
  readonly clock?: Clock;
  /** false: writes go through Express only (see createLeaderApp). */
  readonly rawWrites?: boolean;
}

/**
 * For specs: an in-memory leader app with zero simulated delay over the given transport,
 * wired like leader-node.ts wires it (metrics observe the leader, routes answer through it).
 */
export function testLeader(options: TestLeaderOptions): { app: RequestListener; leader: ReplicationLeader; registry: Registry } {
  const registry = createRegistry({ defaultMetrics: false });
  const built: { leader?: ReplicationLeader } = {};
  const metrics = leaderMetrics(registry, () => built.leader as ReplicationLeader);
  const leader = new ReplicationLeader({
    store: new VersionedStore(),
    epoch: 1,
    followers: [...options.followers],
    replication: { minDelayMs: 0, maxDelayMs: 0 },
    replicationTimeoutMs: options.replicationTimeoutMs ?? 2000,
    transport: options.transport,
    clock: options.clock ?? systemClock,
    inSyncMaxLagMs: options.inSyncMaxLagMs,
    observer: metrics.observer,
  });
  built.leader = leader;
  const logger = options.logger ?? pino({ level: 'silent' });
  const app = createLeaderApp({
    service: LeaderService.serving(leader),
    store: leader.store,
    writeQuorum: options.writeQuorum,
    minFollowersToWrite: options.minFollowersToWrite,
    clusterToken: options.clusterToken ?? null,
    logger,
    registry,
    metrics,
    rawWrites: options.rawWrites,
  });
  return { app, leader, registry };
}

/** Followers as in-memory replicas that answer at once: every write reaches its quorum, so a 5xx is a bug. */
export function replicaTransport(urls: readonly string[]): ReplicationTransport {
  const replicas = new Map(urls.map((url) => [url, new FollowerReplica(new VersionedStore(), url)]));
  return {
    async send(follower, request) {
      return (replicas.get(follower) as FollowerReplica).receive(request).response;
    },
  };
}
