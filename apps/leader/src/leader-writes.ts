import { DtoValidationError, MAX_VALUE_BYTES, PutValueRequest, WriteQuery, type WriteResponse } from '@kv/protocol';
import { KvError, keyParam } from '@kv/node-kit';
import { VersionMismatchError, type ReplicationLeader, type WriteCondition, type WriteTicket } from '@kv/replication';
import type { Entry, JsonValue } from '@kv/store';
import type { LeaderMetrics } from './leader-metrics';
import type { LeaderService } from './leader-service';
import { writeCondition, type HeaderOf } from './write-condition';

export interface WriteRouteOptions {
  /** WRITE_QUORUM: follower acks a write waits for unless `?w=` says otherwise. */
  readonly writeQuorum: number;
  /** MIN_FOLLOWERS_TO_WRITE: writes are refused while fewer followers are in sync; 0 = off. */
  readonly minFollowersToWrite: number;
}

/** One client write as it arrived, whichever HTTP path read it. */
export interface WriteRequest {
  readonly op: 'put' | 'delete';
  /** The decoded `:key` path segment, not yet validated. */
  readonly key: unknown;
  /** The parsed query string (`querystring.parse`, as Express parses it). */
  readonly query: unknown;
  readonly header: HeaderOf;
  /** A PUT's parsed JSON body; ignored for a DELETE. */
  readonly body?: unknown;
}

/** A write applied on the leader: its version at once, its answer once the quorum settles. */
export interface StartedWrite {
  readonly version: number;
  /** The 200 body; rejects with KvError QUORUM_NOT_REACHED (503) when the quorum is not reached. */
  readonly answer: Promise<WriteResponse>;
}

interface WriteParams {
  readonly quorum: number;
  readonly condition: WriteCondition | undefined;
}

/**
 * `PUT` and `DELETE /kv/:key` without HTTP: Express' routes and the leader's raw write path
 * (fast-writes.ts) both call `start`, so both refuse and answer alike. Order (API.md):
 * validate everything (400), refuse when fewer than MIN_FOLLOWERS_TO_WRITE followers are in
 * sync (503), check the condition (412), apply, replicate and wait for the quorum. From the
 * in-sync check to the apply nothing awaits, so no other write comes between: of concurrent
 * writes with one `ifVersion`, exactly one passes. `onApplied` runs synchronously right after
 * each write is applied to the leader's store.
 */
export class LeaderWrites {
  constructor(
    private readonly service: LeaderService,
    private readonly options: WriteRouteOptions,
    private readonly metrics: LeaderMetrics,
    private readonly onApplied: (entry: Entry) => void = () => undefined,
  ) {}

  /**
   * Validates and applies one write. Throws KvError (or DtoValidationError for a bad PUT
   * body) for a refusal, having applied nothing: INVALID_KEY, INVALID_QUERY, INVALID_BODY,
   * VALUE_TOO_LARGE, NOT_ENOUGH_FOLLOWERS, VERSION_MISMATCH, KEY_NOT_FOUND (a DELETE), or
   * UNAVAILABLE when the leader is not serving within REPLICATION_TIMEOUT_MS.
   */
  async start(request: WriteRequest): Promise<StartedWrite> {
    const started = performance.now();
    const key = keyParam(request.key);
    const { quorum, condition } = this.params(request);
    let value: JsonValue = null;
    if (request.op === 'put') {
      ({ value } = PutValueRequest.parse(request.body));
      const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
      if (bytes > MAX_VALUE_BYTES) {
        throw new KvError('VALUE_TOO_LARGE', `value is ${bytes} bytes serialized; the limit is ${MAX_VALUE_BYTES}`, { key });
      }
    }
    // Validated first: a bad request gets its 400 at once, recovering or not. From here to
    // the apply nothing awaits once the leader serves.
    const leader = await this.service.whenServing();
    this.requireInSyncFollowers(leader);
    let ticket: WriteTicket | null;
    if (request.op === 'put') ticket = this.conditional(() => leader.put(key, value, quorum, condition));
    else {
      ticket = this.conditional(() => leader.remove(key, quorum, condition));
      if (ticket === null) throw new KvError('KEY_NOT_FOUND', `key ${JSON.stringify(key)} not found`, { key });
    }
    // Applied to the leader's store: reads waiting for this version and watchers go on now.
    this.onApplied(ticket.entry);
    return { version: ticket.entry.version, answer: this.timed(request.op, quorum, started, answer(ticket, quorum)) };
  }

  /** The query and precondition headers of a write, validated: every 400 comes from here or the body. */
  private params(request: WriteRequest): WriteParams {
    let query: WriteQuery;
    try {
      query = WriteQuery.parse(request.query);
    } catch (error) {
      if (error instanceof DtoValidationError) throw new KvError('INVALID_QUERY', error.message);
      throw error;
    }
    const condition = writeCondition(request.header, query.ifVersion, request.op);
    if (query.w === undefined) return { quorum: this.options.writeQuorum, condition };
    const w = Number(query.w);
    const followerCount = this.service.followerCount;
    if (w > followerCount) throw new KvError('INVALID_QUERY', `w must be an integer from 0 to ${followerCount}, the number of followers (got ${w})`);
    return { quorum: w, condition };
  }

  private async timed(op: 'put' | 'delete', quorum: number, started: number, work: Promise<WriteResponse>): Promise<WriteResponse> {
    try {
      const body = await work;
      this.metrics.recordWrite(op, quorum, 'ok', (performance.now() - started) / 1000);
      return body;
    } catch (error) {
      const outcome = error instanceof KvError ? error.code : 'error';
      this.metrics.recordWrite(op, quorum, outcome, (performance.now() - started) / 1000);
      throw error;
    }
  }

  /** Refusals before anything is applied: no version used, nothing replicated. */
  private refused(error: KvError): KvError {
    this.metrics.recordRefusal(error.code);
    return error;
  }

  private requireInSyncFollowers(leader: ReplicationLeader): void {
    const required = this.options.minFollowersToWrite;
    if (required === 0) return;
    const inSync = leader.inSyncCount();
    if (inSync >= required) return;
    throw this.refused(
      new KvError('NOT_ENOUGH_FOLLOWERS', `only ${inSync} followers are in sync and MIN_FOLLOWERS_TO_WRITE is ${required}; the write was not applied`, { inSync, required }),
    );
  }

  /** Applies through `apply`, turning a failed condition into 412 VERSION_MISMATCH. */
  private conditional<T>(apply: () => T): T {
    try {
      return apply();
    } catch (error) {
      if (!(error instanceof VersionMismatchError)) throw error;
      throw this.refused(new KvError('VERSION_MISMATCH', `${error.message}; nothing was applied`, { key: error.key, version: error.currentVersion }));
    }
  }
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
