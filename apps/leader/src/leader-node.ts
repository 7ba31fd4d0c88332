import { VersionedStore } from '@kv/store';
import { ReplicationLeader, systemClock, type Clock, type LeaderMeta } from '@kv/replication';
import { FileJournal } from '@kv/persistence';
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

export interface LeaderNodeOptions {
  readonly clock?: Clock;
  readonly defaultMetrics?: boolean;
  /** The node can no longer keep its promises (its disk failed): main exits. */
  readonly onFatal?: (error: unknown) => void;
}

/**
 * Wires store, journal, replication, transport, metrics and routes into one leader.
 * With DATA_DIR, the store and the version reservation come back from disk first.
 */
export async function createLeaderNode(config: LeaderConfig, logger: Logger, options: LeaderNodeOptions = {}): Promise<LeaderNode> {
  let store = new VersionedStore();
  let journal: FileJournal<LeaderMeta> | undefined;
  let meta: LeaderMeta | null = null;
  if (config.dataDir) {
    ({ store, journal, meta } = await FileJournal.open<LeaderMeta>(config.dataDir, { fsync: config.fsync, warn: (m) => logger.warn(m) }));
    logger.info(
      meta
        ? `data directory ${config.dataDir}: restored ${store.keyCount} keys, versions continue above ${meta.reservedVersion} (fsync ${config.fsync})`
        : `data directory ${config.dataDir}: new (fsync ${config.fsync})`,
    );
  }
  const registry = createRegistry({ defaultMetrics: options.defaultMetrics ?? false });
  const transport = createHttpTransport({ clusterToken: config.clusterToken, requestTimeoutMs: REPLICATION_REQUEST_TIMEOUT_MS, logger });
  // Metrics read the leader on scrape; the leader reports to metrics: tie the knot lazily.
  const built: { leader?: ReplicationLeader } = {};
  const metrics = leaderMetrics(registry, () => built.leader as ReplicationLeader);
  const leader = new ReplicationLeader({
    store,
    // A leader without its data starts a new history; followers drop the old one.
    epoch: meta?.epoch ?? Date.now(),
    reservedVersion: meta?.reservedVersion ?? 0,
    journal,
    onJournalFailure: (error) => {
      logger.fatal({ err: error }, 'cannot write to the data directory; stopping so that nothing unsaved is acknowledged');
      options.onFatal?.(error);
    },
    followers: config.followers,
    replication: { minDelayMs: config.minDelayMs, maxDelayMs: config.maxDelayMs },
    replicationTimeoutMs: config.replicationTimeoutMs,
    inSyncMaxLagMs: config.minFollowersMaxLagMs,
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
  if (journal && !meta) await leader.persistMeta();
  const app = createLeaderApp({
    leader,
    writeQuorum: config.writeQuorum,
    minFollowersToWrite: config.minFollowersToWrite,
    clusterToken: config.clusterToken,
    logger,
    registry,
    metrics,
  });
  return {
    app,
    leader,
    async close() {
      leader.stop();
      transport.close();
      await journal?.close();
    },
  };
}
