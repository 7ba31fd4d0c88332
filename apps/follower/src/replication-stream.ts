import type { Request, RequestHandler, Response } from 'express';
import { REPLICATION_BODY_LIMIT_BYTES, REPLICATION_STREAM_PATH, type ReplicateResponse } from '@kv/protocol';
import { KvError, type Logger } from '@kv/node-kit';

/**
 * Applies one replication request's body, exactly as `POST /replicate` does (parse, validate,
 * apply, make durable), and resolves with the answer; throws KvError for a refusal.
 */
export type ApplyReplication = (body: unknown, requestId: string) => Promise<ReplicateResponse>;

/**
 * `POST /replicate/stream`: one long-lived request per leader connection, carrying
 * newline-delimited JSON frames `{"id", "requestId", "body"}` where `body` is what
 * `POST /replicate` takes; each is answered on the response stream with
 * `{"id", "status", "body"}`, the status and body `POST /replicate` would have answered. So a
 * leader has many batches in flight without a request each, and answers written in one tick
 * leave in one write. The token is checked before this runs (before anything is read), and
 * every frame goes through the same validation as a request.
 *
 * Frames are applied in the order they arrive (the replica and the journal see the order
 * the leader sent); answers may leave in another order, each names its frame.
 */
export class ReplicationStreams {
  /** How to end each open stream once its frames in flight are answered. */
  private readonly open = new Set<() => void>();
  private stopping = false;

  constructor(
    private readonly apply: ApplyReplication,
    private readonly logger: Logger,
    private readonly maxFrameBytes = REPLICATION_BODY_LIMIT_BYTES + 1024,
  ) {}

  readonly handler: RequestHandler = (req: Request, res: Response) => {
    if (this.stopping) throw new KvError('UNAVAILABLE', 'this follower is shutting down');
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    res.flushHeaders();
    let partial: Buffer[] = [];
    let partialBytes = 0;
    let inFlight = 0;
    let ended = false;
    let corked = false;
    const finishIfDone = () => {
      if (ended && inFlight === 0 && !res.writableEnded) res.end();
    };
    const drain = () => {
      req.pause();
      ended = true;
      finishIfDone();
    };
    this.open.add(drain);
    const answer = (frame: unknown) => {
      if (res.writableEnded || res.destroyed) return;
      // Answers of one tick leave together: one write instead of one per frame.
      if (!corked) {
        corked = true;
        res.cork();
        process.nextTick(() => {
          corked = false;
          res.uncork();
        });
      }
      res.write(`${JSON.stringify(frame)}\n`);
    };
    const handleLine = (line: string) => {
      if (line.length === 0) return;
      let frame: { id?: unknown; requestId?: unknown; body?: unknown };
      try {
        frame = JSON.parse(line) as typeof frame;
      } catch (error) {
        // Without a readable id nothing can be answered: the stream is unusable.
        this.logger.warn(`replication stream: malformed frame (${(error as Error).message}); closing it`);
        req.destroy();
        return;
      }
      const id = frame?.id;
      if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
        this.logger.warn('replication stream: a frame without a numeric id; closing it');
        req.destroy();
        return;
      }
      const requestId = typeof frame.requestId === 'string' && /^[\w.:-]{1,128}$/.test(frame.requestId) ? frame.requestId : `stream-${id}`;
      inFlight++;
      // As requestContext logs a request: one debug line per frame, under the leader's id for it.
      const started = this.logger.isLevelEnabled('debug') ? performance.now() : null;
      const logged = (status: number) => {
        if (started !== null) this.logger.debug({ requestId, method: 'POST', url: REPLICATION_STREAM_PATH, status, ms: +(performance.now() - started).toFixed(2) }, 'request');
      };
      this.apply(frame.body, requestId).then(
        (body) => {
          logged(200);
          answer({ id, status: 200, body });
        },
        (error: unknown) => {
          const refusal = error instanceof KvError ? error : null;
          if (refusal === null) this.logger.error({ err: error, requestId }, 'unhandled error in a replication frame');
          else this.logger.warn({ requestId, code: refusal.code, status: refusal.status }, refusal.message);
          const kvError = refusal ?? new KvError('INTERNAL', 'internal error');
          logged(kvError.status);
          answer({ id, status: kvError.status, body: { error: kvError.message, code: kvError.code, ...kvError.details } });
        },
      ).finally(() => {
        inFlight--;
        finishIfDone();
      });
    };
    req.on('data', (chunk: Buffer) => {
      let start = 0;
      for (let newline = chunk.indexOf(10); newline >= 0; newline = chunk.indexOf(10, start)) {
        const piece = chunk.subarray(start, newline);
        const line = partialBytes === 0 ? piece.toString('utf8') : Buffer.concat([...partial, piece]).toString('utf8');
        partial = [];
        partialBytes = 0;
        start = newline + 1;
        handleLine(line);
      }
      if (start < chunk.length) {
        partial.push(chunk.subarray(start));
        partialBytes += chunk.length - start;
        if (partialBytes > this.maxFrameBytes) {
          // As POST /replicate answers 413: the leader halves its batch and never sends this one again.
          answer({ id: null, status: 413, body: { error: `replication frame larger than the limit of ${this.maxFrameBytes} bytes`, code: 'PAYLOAD_TOO_LARGE' } });
          partial = [];
          partialBytes = 0;
          res.end();
          req.destroy();
        }
      }
    });
    req.on('end', () => {
      ended = true;
      finishIfDone();
    });
    res.on('close', () => this.open.delete(drain));
  };

  /** Shutting down: no new stream; open ones end once their frames are answered (the leader reconnects elsewhere or retries). */
  stop(): void {
    this.stopping = true;
    // Frames being applied still get their answers; nothing new is read.
    for (const drain of this.open) drain();
  }
}
