import { Router } from 'express';
import { Counter, type Registry } from 'prom-client';
import { REPLICATION_BODY_LIMIT_BYTES, REPLICATION_PATH, ReplicateRequest, DtoValidationError } from '@kv/protocol';
import { KvError, jsonBody, requireClusterToken, type Logger } from '@kv/node-kit';
import { StaleLeaderError, type FollowerReplica } from '@kv/replication';

/**
 * `POST /replicate`: token first (401 before the body is read), then parse and validate,
 * then apply. A refused request changes nothing.
 */
export function replicationRoute(replica: FollowerReplica, clusterToken: string | null, registry: Registry, logger: Logger): Router {
  const requests = new Counter({
    name: 'kv_replication_requests_received_total',
    help: 'Replication requests received, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const applied = new Counter({ name: 'kv_replicated_entries_applied_total', help: 'Replicated entries applied', registers: [registry] });
  const router = Router();
  router.post(REPLICATION_PATH, requireClusterToken(clusterToken), jsonBody(REPLICATION_BODY_LIMIT_BYTES), (req, res) => {
    let request: ReplicateRequest;
    try {
      request = ReplicateRequest.parse(req.body);
    } catch (error) {
      requests.inc({ outcome: 'invalid' });
      if (error instanceof DtoValidationError) throw new KvError('INVALID_BODY', `invalid replication request: ${error.message}`);
      throw error;
    }
    try {
      const result = replica.receive(request);
      if (result.adoptedNewEpoch) logger.info({ leaderEpoch: request.leaderEpoch }, `following leader epoch ${request.leaderEpoch}; data of older epochs dropped`);
      applied.inc(result.applied);
      requests.inc({ outcome: 'ok' });
      res.json(result.response);
    } catch (error) {
      if (error instanceof StaleLeaderError) {
        requests.inc({ outcome: 'stale' });
        throw new KvError('STALE_LEADER', error.message, { leaderEpoch: error.currentEpoch });
      }
      throw error;
    }
  });
  return router;
}
