import type { RequestListener } from 'node:http';
import express, { type RequestHandler } from 'express';
import type { VersionedStore } from '@kv/store';
import type { Registry } from 'prom-client';
import type { HealthResponse, LeaderStatus } from '@kv/protocol';
import { ENTRIES_PATH, REPLICATION_PATH, REPLICATION_STREAM_PATH, keyProblem } from '@kv/protocol';
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
  requireClusterToken,
  routeNotFound,
  VersionWaiters,
  WatchHub,
  watchRoute,
  type Logger,
} from '@kv/node-kit';
import { withFastWrites } from './fast-writes';
import { LeaderWrites } from './leader-writes';
import { writeRoutes } from './write-routes';
import type { LeaderMetrics } from './leader-metrics';
import type { LeaderService } from './leader-service';

export interface LeaderAppDeps {
  readonly service: LeaderService;
  /** The store the leader serves (the same object before and after its recovery). */
  readonly store: VersionedStore;
  readonly writeQuorum: number;
  /** MIN_FOLLOWERS_TO_WRITE (0 = off, the default). */
  readonly minFollowersToWrite?: number;
  /** Replication traffic without it gets 401 here too, before being told this is the leader. */
  readonly clusterToken?: string | null;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly metrics: LeaderMetrics;
  /** FOLLOWERS, for /status while the leader recovers. */
  readonly followerUrls?: readonly string[];
  /** The watchers of `GET /watch` (the node ends them on shutdown); one is made when absent. */
  readonly watchHub?: WatchHub;
  /** false: every write goes through Express too (specs compare the two paths). Default true. */
  readonly rawWrites?: boolean;
}

/**
 * The leader's HTTP API (API.md), without listening: supertest drives it in process. Everyday
 * writes take the raw path of fast-writes.ts; everything else is the Express app built here.
 */
export function createLeaderApp({ service, store, writeQuorum, minFollowersToWrite = 0, clusterToken = null, logger, registry, metrics, followerUrls = [], watchHub, rawWrites = true }: LeaderAppDeps): RequestListener {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestContext(logger));
  app.use(httpMetrics(registry));
  app.use(NODE_ROUTES.options());

  app.get('/health', (_req, res) => {
    const body: HealthResponse = { status: 'ok', role: 'leader' };
    res.json(body);
  });
  app.get('/status', (_req, res) => {
    const leader = service.leader;
    const body: LeaderStatus = {
      role: 'leader',
      state: service.state,
      version: store.maxVersion,
      keys: store.keyCount,
      writeQuorum,
      inSync: leader?.inSyncCount() ?? 0,
      followers: service.followerStatus(followerUrls),
      ...(leader ? { epoch: leader.epoch } : {}),
      ...(service.state === 'serving' ? {} : { reason: service.unavailableReason() }),
      ...(service.recovery ? { recovery: service.recovery } : {}),
    };
    res.json(body);
  });
  app.get('/metrics', metricsRoute(registry));
  app.use(probeRoutes(() => service.readiness(writeQuorum)));
  app.use(emptyKeyWrites(() => new KvError('INVALID_KEY', keyProblem('') ?? 'key must not be empty')));
  // Reads wait for a recovery like writes do: nothing is served from a half-recovered state.
  const untilServing: RequestHandler = (_req, _res, next) => {
    if (service.state === 'serving') return next();
    service.whenServing().then(() => next(), next);
  };
  app.get(['/kv', '/kv/:key', '/watch'], untilServing);
  // The leader holds version V once V <= its version: its writes are applied to its store
  // before they are durable or replicated (API.md, "Read-your-writes").
  const waiters = new VersionWaiters();
  const progress = { appliedVersion: () => store.maxVersion, waiters };
  const hub = watchHub ?? new WatchHub({ store, registry });
  app.use(readRoutes(store, progress));
  app.use(watchRoute(store, progress, hub));
  const writes = new LeaderWrites(service, { writeQuorum, minFollowersToWrite }, metrics, (entry) => {
    waiters.advance(store.maxVersion);
    // Each write on its own: a leader's watchers see every change one by one.
    hub.published(entry);
  });
  app.use(writeRoutes(writes));
  const notFollower = (_req: unknown, _res: unknown, next: (error: unknown) => void) =>
    next(new KvError('NOT_FOLLOWER', 'this node is the leader; it does not accept replication'));
  app.post(REPLICATION_PATH, requireClusterToken(clusterToken), notFollower);
  app.post(REPLICATION_STREAM_PATH, requireClusterToken(clusterToken), notFollower);
  app.post(ENTRIES_PATH, requireClusterToken(clusterToken), notFollower);
  app.use(NODE_ROUTES.refuseOthers());
  app.use(routeNotFound);
  app.use(errorHandler(logger));
  return rawWrites ? withFastWrites(app, { writes, service, logger, registry }) : app;
}
