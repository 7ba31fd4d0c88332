import { Router, type Request } from 'express';
import { CLIENT_BODY_LIMIT_BYTES, DtoValidationError, MAX_VALUE_BYTES, PutValueRequest, WriteQuery, type WriteResponse } from '@kv/protocol';
import { KvError, jsonBody, keyParam } from '@kv/node-kit';
import { VersionMismatchError, type ReplicationLeader, type WriteCondition, type WriteTicket } from '@kv/replication';
import type { Entry } from '@kv/store';
import type { LeaderMetrics } from './leader-metrics';
import type { LeaderService } from './leader-service';
import { writeCondition } from './write-condition';

export interface WriteRouteOptions {
  /** WRITE_QUORUM: follower acks a write waits for unless `?w=` says otherwise. */
  readonly writeQuorum: number;
  /** MIN_FOLLOWERS_TO_WRITE: writes are refused while fewer followers are in sync; 0 = off. */
  readonly minFollowersToWrite: number;
}

interface WriteParams {
  readonly quorum: number;
  readonly condition: WriteCondition | undefined;
}

/** The query and precondition headers of a write, validated: every 400 comes from here or the body. */
function writeParams(req: Request, op: 'put' | 'delete', followerCount: number, defaultQuorum: number): WriteParams {
  let query: WriteQuery;
  try {
    query = WriteQuery.parse(req.query);
  } catch (error) {
    if (error instanceof DtoValidationError) throw new KvError('INVALID_QUERY', error.message);
    throw error;
  }
  const condition = writeCondition(req, query.ifVersion, op);
  if (query.w === undefined) return { quorum: defaultQuorum, condition };
  const w = Number(query.w);
  if (w > followerCount) throw new KvError('INVALID_QUERY', `w must be an integer from 0 to ${followerCount}, the number of followers (got ${w})`);
  return { quorum: w, condition };
}

/** Waits for the write's quorum; answers 200, or 503 with the write kept and still replicating. */
async function answer(ticket: WriteTicket, quorum: number): Promise<WriteResponse> {
  const { key, version } = ticket.entry;
  const result = await ticket.quorum;
  if (result.outcome === 'reached') return { key, version, acks: result.acks, quorum };
  const why = result.outcome === 'timeout' ? 'the replication timeout passed' : 'too many followers failed';
  throw new KvError(
    'QUORUM_NOT_REACHED',
    `write applied on the leader as version ${version} but acknowledged by ${result.acks} of the ${quorum} followers required (${why}); it is kept and keeps replicating`,
    { key, version, acks: result.acks, quorum },
  );
}

/**
 * `PUT` and `DELETE /kv/:key`. Order (API.md): validate everything (400), refuse when fewer
 * than MIN_FOLLOWERS_TO_WRITE followers are in sync (503), check the condition (412), apply,
 * replicate and wait for the quorum. From the in-sync check to the apply nothing awaits, so
 * no other write comes between: of concurrent writes with one `ifVersion`, exactly one passes.
 * `onApplied` runs synchronously right after each write is applied to the leader's store.
 */
export function writeRoutes(service: LeaderService, options: WriteRouteOptions, metrics: LeaderMetrics, onApplied: (entry: Entry) => void = () => undefined): Router {
  const router = Router();
  const timed = async (op: 'put' | 'delete', quorum: number, started: number, work: () => Promise<WriteResponse>) => {
    try {
      const body = await work();
      metrics.recordWrite(op, quorum, 'ok', (performance.now() - started) / 1000);
      return body;
    } catch (error) {
      const outcome = error instanceof KvError ? error.code : 'error';
      metrics.recordWrite(op, quorum, outcome, (performance.now() - started) / 1000);
      throw error;
    }
  };

  /** Refusals before anything is applied: no version used, nothing replicated. */
  const refused = (error: KvError): KvError => {
    metrics.recordRefusal(error.code);
    return error;
  };

  const requireInSyncFollowers = (leader: ReplicationLeader) => {
    const required = options.minFollowersToWrite;
    if (required === 0) return;
    const inSync = leader.inSyncCount();
    if (inSync >= required) return;
    throw refused(
      new KvError(
        'NOT_ENOUGH_FOLLOWERS',
        `only ${inSync} followers are in sync and MIN_FOLLOWERS_TO_WRITE is ${required}; the write was not applied`,
        { inSync, required },
      ),
    );
  };

  /** Applies through `apply`, turning a failed condition into 412 VERSION_MISMATCH. */
  const conditional = <T>(apply: () => T): T => {
    try {
      return apply();
    } catch (error) {
      if (!(error instanceof VersionMismatchError)) throw error;
      throw refused(new KvError('VERSION_MISMATCH', `${error.message}; nothing was applied`, { key: error.key, version: error.currentVersion }));
    }
  };

  router.put('/kv/:key', jsonBody(CLIENT_BODY_LIMIT_BYTES), async (req, res) => {
    const started = performance.now();
    const key = keyParam(req.params.key);
    const { quorum, condition } = writeParams(req, 'put', service.followerCount, options.writeQuorum);
    const { value } = PutValueRequest.parse(req.body);
    const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
    if (bytes > MAX_VALUE_BYTES) {
      throw new KvError('VALUE_TOO_LARGE', `value is ${bytes} bytes serialized; the limit is ${MAX_VALUE_BYTES}`, { key });
    }
    // Validated first: a bad request gets its 400 at once, recovering or not. From here to
    // the apply nothing awaits once the leader serves.
    const leader = await service.whenServing();
    requireInSyncFollowers(leader);
    const ticket = conditional(() => leader.put(key, value, quorum, condition));
    // Applied to the leader's store: reads waiting for this version and watchers go on now.
    onApplied(ticket.entry);
    // For the request's log line: the version is how replication logs name this write.
    res.locals.version = ticket.entry.version;
    res.json(await timed('put', quorum, started, () => answer(ticket, quorum)));
  });

  router.delete('/kv/:key', async (req, res) => {
    const started = performance.now();
    const key = keyParam(req.params.key);
    const { quorum, condition } = writeParams(req, 'delete', service.followerCount, options.writeQuorum);
    const leader = await service.whenServing();
    requireInSyncFollowers(leader);
    const ticket = conditional(() => leader.remove(key, quorum, condition));
    if (ticket === null) throw new KvError('KEY_NOT_FOUND', `key ${JSON.stringify(key)} not found`, { key });
    onApplied(ticket.entry);
    res.locals.version = ticket.entry.version;
    res.json(await timed('delete', quorum, started, () => answer(ticket, quorum)));
  });
  return router;
}
