import { Router, type RequestHandler } from 'express';
import { Counter, type Registry } from 'prom-client';
import type { VersionedStore } from '@kv/store';
import {
  ENTRIES_PATH,
  EntriesRequest,
  MAX_SAFE_VERSION,
  REPLICATION_BODY_LIMIT_BYTES,
  REPLICATION_PATH,
  REPLICATION_STREAM_PATH,
  ReplicateRequest,
  DtoValidationError,
  entryWireBytes,
  type EntriesPage,
  type ReplicatedEntry,
} from '@kv/protocol';
import { KvError, jsonBody, requireClusterToken, versionRanges, type Logger } from '@kv/node-kit';
import { StaleLeaderError, type FollowerReadiness, type FollowerReplica, type ReceiveResult } from '@kv/replication';
import { ReplicationStreams, type ApplyReplication } from './replication-stream';

/** Makes a follower's changes durable (its DATA_DIR journal), in the order they were made. */
export interface FollowerJournal {
  commit(change: ReceiveResult['change']): Promise<void>;
}

export interface ReplicationRouteDeps {
  readonly replica: FollowerReplica;
  readonly store: VersionedStore;
  readonly clusterToken: string | null;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Without one, the follower keeps everything in memory only. */
  readonly journal?: FollowerJournal;
  readonly onJournalFailure?: (error: unknown) => void;
  /** Told of every request applied (and durable): feeds `/readyz`. */
  readonly readiness?: FollowerReadiness;
  /** A request was applied and made durable (before its ack): reads waiting for a version and watchers go on. */
  readonly onApplied?: (result: ReceiveResult) => void;
  /** Given the replication streams, so a shutdown can end them (they would hold the server open). */
  readonly onStreams?: (streams: ReplicationStreams) => void;
}

/**
 * `POST /replicate`: token first (401 before the body is read), then parse and validate,
 * then apply, then make it durable, then ack. A refused request changes nothing.
 */
export function replicationRoute({ replica, store, clusterToken, registry, logger, journal, onJournalFailure, readiness, onApplied, onStreams }: ReplicationRouteDeps): Router {
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
  // One request's whole effect, for POST /replicate and each frame of the stream alike.
  const apply: ApplyReplication = async (body, requestId) => {
    let request: ReplicateRequest;
    try {
      request = ReplicateRequest.parse(body);
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
        const how = result.change.clear
          ? '; full resync: what it held is replaced by the leader\'s state'
          : previousEpoch === 0
            ? ''
            : `; its history (epoch ${previousEpoch}) continues there, nothing dropped`;
        logger.info({ leaderEpoch: request.leaderEpoch, leaderId: request.leaderId }, `following leader epoch ${request.leaderEpoch}${how}`);
      } else if (result.change.clear) {
        logger.info({ leaderEpoch: request.leaderEpoch }, 'full resync started: what it held is replaced by the leader\'s state');
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
    // Only a request from the leader it follows says it is following one.
    if (result.response.leaderEpoch === request.leaderEpoch) readiness?.heard(performance.now(), result.response.appliedVersion, request.leaderVersion);
    requests.inc({ outcome: 'ok' });
    onApplied?.(result);
    logReplicated(logger, requestId, request, result);
    return result.response;
  };
  router.post(REPLICATION_PATH, countedCheckToken, jsonBody(REPLICATION_BODY_LIMIT_BYTES), async (req, res) => {
    res.json(await apply(req.body, res.locals.requestId as string));
  });
  // The same, as frames of one long-lived request per leader connection (replication-stream.ts).
  const streams = new ReplicationStreams(apply, logger);
  router.post(REPLICATION_STREAM_PATH, countedCheckToken, streams.handler);
  onStreams?.(streams);

  // A recovering leader reads this follower's state in pages bounded in bytes (API.md
  // guarantee 7). Each page is read in one synchronous step, so it is consistent; the
  // position in every answer lets the leader start over if the follower moved meanwhile.
  router.post(ENTRIES_PATH, countedCheckToken, jsonBody(64 * 1024), (req, res) => {
    let query: EntriesRequest;
    try {
      query = EntriesRequest.parse(req.body);
    } catch (error) {
      if (error instanceof DtoValidationError) throw new KvError('INVALID_BODY', `invalid entries request: ${error.message}`);
      throw error;
    }
    const page = store.page(query.afterVersion, MAX_SAFE_VERSION, { maxBytes: query.maxBytes, sizeOf: entryWireBytes });
    const body: EntriesPage = {
      position: replica.position(),
      entries: page.entries as ReplicatedEntry[],
      next: page.coveredThrough < MAX_SAFE_VERSION ? page.coveredThrough : null,
    };
    res.json(body);
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
