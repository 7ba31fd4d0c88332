import express, { type Express } from 'express';
import { Gauge, type Registry } from 'prom-client';
import type { VersionedStore } from '@kv/store';
import type { FollowerNodeStatus, HealthResponse } from '@kv/protocol';
import {
  KvError,
  NODE_ROUTES,
  emptyKeyWrites,
  errorHandler,
  httpMetrics,
  metricsRoute,
  probeRoutes,
  readRoutes,
  requestContext,
  routeNotFound,
  VersionWaiters,
  WatchHub,
  watchRoute,
  type Logger,
} from '@kv/node-kit';
import { FollowerReadiness, type FollowerReplica } from '@kv/replication';
import { replicationRoute, type FollowerJournal } from './replication-route';
import type { ReplicationStreams } from './replication-stream';

export interface FollowerAppDeps {
  readonly store: VersionedStore;
  readonly replica: FollowerReplica;
  readonly leaderUrl: string | null;
  readonly clusterToken: string | null;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly journal?: FollowerJournal;
  readonly onJournalFailure?: (error: unknown) => void;
  /** MIN_FOLLOWERS_MAX_LAG_MS: /readyz wants the leader heard from, and caught up with, within this (ms). */
  readonly maxLagMs?: number;
  /** The watchers of `GET /watch` (the node ends them on shutdown); one is made when absent. */
  readonly watchHub?: WatchHub;
  /** Given the replication streams, so a shutdown can end them. */
  readonly onStreams?: (streams: ReplicationStreams) => void;
}

/** The follower's HTTP API (API.md), without listening. */
export function createFollowerApp(deps: FollowerAppDeps): Express {
  const { store, replica, leaderUrl, logger, registry } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestContext(logger));
  app.use(httpMetrics(registry));
  app.use(NODE_ROUTES.options());
  new Gauge({ name: 'kv_keys', help: 'Live keys held', registers: [registry], collect() { this.set(store.keyCount); } });
  new Gauge({
    name: 'kv_applied_version',
    help: 'Every write up to this version is applied here',
    registers: [registry],
    collect() {
      this.set(replica.appliedVersion);
    },
  });

  app.get('/health', (_req, res) => {
    const body: HealthResponse = { status: 'ok', role: 'follower' };
    res.json(body);
  });
  app.get('/status', (_req, res) => {
    const body: FollowerNodeStatus = { role: 'follower', appliedVersion: replica.appliedVersion, keys: store.keyCount };
    res.json(body);
  });
  app.get('/metrics', metricsRoute(registry));
  const readiness = new FollowerReadiness(deps.maxLagMs ?? 10_000);
  app.use(
    probeRoutes(() => {
      const verdict = readiness.check(performance.now(), replica.resyncing);
      const details = { appliedVersion: replica.appliedVersion, leaderEpoch: replica.leaderEpoch };
      return verdict.ready ? { ready: true, details } : { ready: false, reason: verdict.reason, details };
    }),
  );
  const waiters = new VersionWaiters();
  const hub = deps.watchHub ?? new WatchHub({ store, registry });
  app.use(
    replicationRoute({
      ...deps,
      store,
      readiness,
      onApplied: (result) => {
        // A full resync emptied the store: streams end, clients relist (API.md, "Watch").
        if (result.change.clear) hub.reset(replica.appliedVersion, 'resync', 'this follower started a full resync; list, then watch again');
        waiters.advance(replica.appliedVersion);
        // Only what the watermark covers, in version order: never a gap (coalesced per step).
        hub.advance(replica.appliedVersion);
      },
    }),
  );
  const refuseWrite = () => new KvError('NOT_LEADER', 'Only leader accepts writes', { leader: leaderUrl });
  app.use(emptyKeyWrites(refuseWrite));
  const progress = { appliedVersion: () => replica.appliedVersion, waiters };
  app.use(readRoutes(store, progress));
  app.use(watchRoute(store, progress, hub));
  app.put('/kv/:key', (_req, _res, next) => next(refuseWrite()));
  app.delete('/kv/:key', (_req, _res, next) => next(refuseWrite()));
  app.use(NODE_ROUTES.refuseOthers());
  app.use(routeNotFound);
  app.use(errorHandler(logger));
  return app;
}
