import { Router, type Request } from 'express';
import { CLIENT_BODY_LIMIT_BYTES, DtoValidationError, MAX_VALUE_BYTES, PutValueRequest, WriteQuery, type WriteResponse } from '@kv/protocol';
import { KvError, jsonBody, keyParam } from '@kv/node-kit';
import type { WriteTicket } from '@kv/replication';
import type { LeaderMetrics } from './leader-metrics';
import type { LeaderService } from './leader-service';

function quorumParam(req: Request, followerCount: number, defaultQuorum: number): number {
  let query: WriteQuery;
  try {
    query = WriteQuery.parse(req.query);
  } catch (error) {
    if (error instanceof DtoValidationError) throw new KvError('INVALID_QUERY', error.message);
    throw error;
  }
  if (query.w === undefined) return defaultQuorum;
  const w = Number(query.w);
  if (w > followerCount) throw new KvError('INVALID_QUERY', `w must be an integer from 0 to ${followerCount}, the number of followers (got ${w})`);
  return w;
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

/** `PUT` and `DELETE /kv/:key`: validate everything, then apply, replicate and wait for the quorum. */
export function writeRoutes(service: LeaderService, writeQuorum: number, metrics: LeaderMetrics): Router {
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

  router.put('/kv/:key', jsonBody(CLIENT_BODY_LIMIT_BYTES), async (req, res) => {
    const started = performance.now();
    const key = keyParam(req.params.key);
    const quorum = quorumParam(req, service.followerCount, writeQuorum);
    const { value } = PutValueRequest.parse(req.body);
    const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
    if (bytes > MAX_VALUE_BYTES) {
      throw new KvError('VALUE_TOO_LARGE', `value is ${bytes} bytes serialized; the limit is ${MAX_VALUE_BYTES}`, { key });
    }
    // Validated first: a bad request gets its 400 at once, recovering or not.
    const leader = await service.whenServing();
    const ticket = leader.put(key, value, bytes, quorum);
    // For the request's log line: the version is how replication logs name this write.
    res.locals.version = ticket.entry.version;
    res.json(await timed('put', quorum, started, () => answer(ticket, quorum)));
  });

  router.delete('/kv/:key', async (req, res) => {
    const started = performance.now();
    const key = keyParam(req.params.key);
    const quorum = quorumParam(req, service.followerCount, writeQuorum);
    const leader = await service.whenServing();
    const ticket = leader.remove(key, quorum);
    if (ticket === null) throw new KvError('KEY_NOT_FOUND', `key ${JSON.stringify(key)} not found`, { key });
    res.locals.version = ticket.entry.version;
    res.json(await timed('delete', quorum, started, () => answer(ticket, quorum)));
  });
  return router;
}
