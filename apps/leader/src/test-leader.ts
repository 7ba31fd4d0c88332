import type { Express } from 'express';
import pino from 'pino';
import { VersionedStore } from '@kv/store';
import { ReplicationLeader, systemClock, type Clock, type ReplicationTransport } from '@kv/replication';
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
}

/**
 * For specs: an in-memory leader app with zero simulated delay over the given transport,
 * wired like leader-node.ts wires it (metrics observe the leader, routes answer through it).
 */
export function testLeader(options: TestLeaderOptions): { app: Express; leader: ReplicationLeader; registry: Registry } {
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
  });
  return { app, leader, registry };
}
