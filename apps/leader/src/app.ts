import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import type { HealthResponse, LeaderStatus } from '@kv/protocol';
import { REPLICATION_PATH, keyProblem } from '@kv/protocol';
import {
  KvError,
  NODE_ROUTES,
  emptyKeyWrites,
  errorHandler,
  httpMetrics,
  metricsRoute,
  readRoutes,
  requestContext,
  requireClusterToken,
  routeNotFound,
  type Logger,
} from '@kv/node-kit';
import type { ReplicationLeader } from '@kv/replication';
import { writeRoutes } from './write-routes';
import type { LeaderMetrics } from './leader-metrics';

export interface LeaderAppDeps {
  readonly leader: ReplicationLeader;
  readonly writeQuorum: number;
  /** MIN_FOLLOWERS_TO_WRITE (0 = off, the default). */
  readonly minFollowersToWrite?: number;
  /** Replication traffic without it gets 401 here too, before being told this is the leader. */
  readonly clusterToken?: string | null;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly metrics: LeaderMetrics;
}

/** The leader's HTTP API (API.md), without listening: supertest drives it in process. */
export function createLeaderApp({ leader, writeQuorum, minFollowersToWrite = 0, clusterToken = null, logger, registry, metrics }: LeaderAppDeps): Express {
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
    const body: LeaderStatus = {
      role: 'leader',
      version: leader.version,
      keys: leader.store.keyCount,
      writeQuorum,
      inSync: leader.inSyncCount(),
      followers: leader.status(),
    };
    res.json(body);
  });
  app.get('/metrics', metricsRoute(registry));
  app.use(emptyKeyWrites(() => new KvError('INVALID_KEY', keyProblem('') ?? 'key must not be empty')));
  app.use(readRoutes(leader.store));
  app.use(writeRoutes(leader, { writeQuorum, minFollowersToWrite }, metrics));
  app.post(REPLICATION_PATH, requireClusterToken(clusterToken), (_req, _res, next) => next(new KvError('NOT_FOLLOWER', 'this node is the leader; it does not accept replication')));
  app.use(NODE_ROUTES.refuseOthers());
  app.use(routeNotFound);
  app.use(errorHandler(logger));
  return app;
}
