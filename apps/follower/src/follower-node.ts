import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import { VersionedStore } from '@kv/store';
import { FollowerReplica, TombstoneRetention, systemClock, type FollowerMeta } from '@kv/replication';
import { FileJournal } from '@kv/persistence';
import { WatchHub, createRegistry, type FollowerConfig, type Logger } from '@kv/node-kit';
import { createFollowerApp } from './app';
import type { ReplicationStreams } from './replication-stream';

export interface FollowerNode {
  readonly app: Express;
  readonly store: VersionedStore;
  readonly replica: FollowerReplica;
  /** Ends every watch stream (on SIGTERM, before the server waits for its requests). */
  closeWatchers(): void;
  /** Ends the leader's replication streams once their frames are answered (a shutdown). */
  stopStreams(): void;
  close(): Promise<void>;
}

export interface FollowerNodeOptions {
  readonly defaultMetrics?: boolean;
  /** The node can no longer keep its promises (its disk failed): main exits. */
  readonly onFatal?: (error: unknown) => void;
}

/**
 * Wires the store, the journal, the replica and the routes into one follower. With
 * DATA_DIR it serves what it had at once and tells the leader how far it has everything,
 * so only the delta is caught up.
 */
export async function createFollowerNode(config: FollowerConfig, logger: Logger, options: FollowerNodeOptions = {}): Promise<FollowerNode> {
  let store = new VersionedStore();
  let journal: FileJournal<FollowerMeta> | undefined;
  let meta: FollowerMeta | null = null;
  if (config.dataDir) {
    ({ store, journal, meta } = await FileJournal.open<FollowerMeta>(config.dataDir, { fsync: config.fsync, warn: (m) => logger.warn(m) }));
    logger.info(
      meta
        ? `data directory ${config.dataDir}: restored ${store.keyCount} keys, everything up to version ${meta.appliedVersion} (fsync ${config.fsync})`
        : `data directory ${config.dataDir}: new (fsync ${config.fsync})`,
    );
  }
  // Deletes of the last 60 s stay tellable to watchers (API.md, "Watch").
  const replica = new FollowerReplica(store, randomUUID(), meta ?? undefined, { retention: new TombstoneRetention(config.tombstoneRetentionMs), now: systemClock.now });
  let streams: ReplicationStreams | undefined;
  const registry = createRegistry({ defaultMetrics: options.defaultMetrics ?? false });
  const watchHub = new WatchHub({ store, registry });
  const app = createFollowerApp({
    watchHub,
    store,
    replica,
    leaderUrl: config.leaderUrl,
    maxLagMs: config.minFollowersMaxLagMs,
    clusterToken: config.clusterToken,
    logger,
    registry,
    journal,
    onStreams: (created) => (streams = created),
    onJournalFailure: (error) => {
      logger.fatal({ err: error }, 'cannot write to the data directory; stopping so that nothing unsaved is acknowledged');
      options.onFatal?.(error);
    },
  });
  return {
    app,
    store,
    replica,
    closeWatchers: () => watchHub.closeAll(),
    stopStreams: () => streams?.stop(),
    async close() {
      await journal?.close();
    },
  };
}
