import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import { VersionedStore } from '@kv/store';
import { FollowerReplica } from '@kv/replication';
import { createRegistry, type FollowerConfig, type Logger } from '@kv/node-kit';
import { createFollowerApp } from './app';

export interface FollowerNode {
  readonly app: Express;
  readonly store: VersionedStore;
  readonly replica: FollowerReplica;
  close(): Promise<void>;
}

/** Wires the store, the replica and the routes into one follower. */
export function createFollowerNode(config: FollowerConfig, logger: Logger, options: { defaultMetrics?: boolean } = {}): FollowerNode {
  const store = new VersionedStore();
  const replica = new FollowerReplica(store, randomUUID());
  const registry = createRegistry({ defaultMetrics: options.defaultMetrics ?? false });
  const app = createFollowerApp({ store, replica, leaderUrl: config.leaderUrl, clusterToken: config.clusterToken, logger, registry });
  return { app, store, replica, async close() {} };
}
