import { Router, type RequestHandler } from 'express';
import { Counter, type Registry } from 'prom-client';
import { REPLICATION_BODY_LIMIT_BYTES, REPLICATION_PATH, ReplicateRequest, DtoValidationError } from '@kv/protocol';
import { KvError, jsonBody, requireClusterToken, versionRanges, type Logger } from '@kv/node-kit';
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
  const checkToken = requireClusterToken(clusterToken);
  // Counted, so a leader (or anyone) knocking with the wrong token shows on this node's metrics too.
  const countedCheckToken: RequestHandler = (req, res, next) =>
    checkToken(req, res, (error?: unknown) => {
      if (error !== undefined) requests.inc({ outcome: 'unauthorized' });
      next(error);
    });
  router.post(REPLICATION_PATH, countedCheckToken, jsonBody(REPLICATION_BODY_LIMIT_BYTES), async (req, res) => {
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
        requests.inc({ outcome: 'unavailable' });
        throw new KvError('UNAVAILABLE', 'cannot persist the replicated entries; not acknowledging them');
      }
    }
    applied.inc(result.change.apply.length);
    requests.inc({ outcome: 'ok' });
    logReplicated(logger, res.locals.requestId, request, result);
    res.json(result.response);
  });
  return router;
}

/**
 * One line per replication request at debug (heartbeats at trace): the leader's id for
 * the request, the versions it carried and those it changed here. Built only when written.
 */
function logReplicated(logger: Logger, requestId: unknown, request: ReplicateRequest, result: ReceiveResult): void {
  const level = request.catchUp === undefined && request.entries.length === 0 ? 'trace' : 'debug';
  if (!logger.isLevelEnabled(level)) return;
  logger[level](
    {
      requestId,
      leaderEpoch: request.leaderEpoch,
      kind: request.catchUp ? 'catch-up' : request.entries.length === 0 ? 'heartbeat' : 'append',
      entries: request.entries.length,
      versions: versionRanges(request.entries.map((e) => e.version)),
      applied: versionRanges(result.change.apply.map((e) => e.version)),
      ...(request.catchUp ? { catchUp: `(${request.catchUp.from}, ${request.catchUp.through}]` } : {}),
      appliedVersion: result.response.appliedVersion,
    },
    'replicated',
  );
}
