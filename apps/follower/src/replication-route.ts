import { Router } from 'express';
import { Counter, type Registry } from 'prom-client';
import { REPLICATION_BODY_LIMIT_BYTES, REPLICATION_PATH, ReplicateRequest, DtoValidationError } from '@kv/protocol';
import { KvError, jsonBody, requireClusterToken, type Logger } from '@kv/node-kit';
import { StaleLeaderError, type FollowerReplica, type ReceiveResult } from '@kv/replication';

/** Makes a follower's changes durable (its DATA_DIR journal), in the order they were made. */
export interface FollowerJournal {
  commit(change: ReceiveResult['change']): Promise<void>;
}

export interface ReplicationRouteDeps {
  readonly replica: FollowerReplica;
  readonly clusterToken: string | null;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Without one, the follower keeps everything in memory only. */
  readonly journal?: FollowerJournal;
  readonly onJournalFailure?: (error: unknown) => void;
}

/**
 * `POST /replicate`: token first (401 before the body is read), then parse and validate,
 * then apply, then make it durable, then ack. A refused request changes nothing.
 */
export function replicationRoute({ replica, clusterToken, registry, logger, journal, onJournalFailure }: ReplicationRouteDeps): Router {
  const requests = new Counter({
    name: 'kv_replication_requests_received_total',
    help: 'Replication requests received, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const applied = new Counter({ name: 'kv_replicated_entries_applied_total', help: 'Replicated entries applied', registers: [registry] });
  const router = Router();
  router.post(REPLICATION_PATH, requireClusterToken(clusterToken), jsonBody(REPLICATION_BODY_LIMIT_BYTES), async (req, res) => {
    let request: ReplicateRequest;
    try {
      request = ReplicateRequest.parse(req.body);
    } catch (error) {
      requests.inc({ outcome: 'invalid' });
      if (error instanceof DtoValidationError) throw new KvError('INVALID_BODY', `invalid replication request: ${error.message}`);
      throw error;
    }
    let result: ReceiveResult;
    try {
      const previousEpoch = replica.leaderEpoch;
      result = replica.receive(request);
      if (result.adoptedNewEpoch) {
        const dropped = previousEpoch === 0 ? '' : `; what it held from epoch ${previousEpoch} is dropped`;
        logger.info({ leaderEpoch: request.leaderEpoch }, `following leader epoch ${request.leaderEpoch}${dropped}`);
      }
    } catch (error) {
      if (error instanceof StaleLeaderError) {
        requests.inc({ outcome: 'stale' });
        throw new KvError('STALE_LEADER', error.message, { leaderEpoch: error.currentEpoch });
      }
      throw error;
    }
    if (journal) {
      try {
        await journal.commit(result.change);
      } catch (error) {
        onJournalFailure?.(error);
        throw new KvError('UNAVAILABLE', 'cannot persist the replicated entries; not acknowledging them');
      }
    }
    applied.inc(result.change.apply.length);
    requests.inc({ outcome: 'ok' });
    res.json(result.response);
  });
  return router;
}
