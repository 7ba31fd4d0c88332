import http from 'node:http';
import { boundedTimerMs } from '@kv/client';

/** One request of the storm's own reads (convergence, metrics, etcd's gateway). */
export interface AnswerRequest {
  readonly method?: 'GET' | 'POST';
  /** A JSON body, sent with its Content-Length. */
  readonly json?: unknown;
  /** Keep-alive connections to reuse; Node's global agent when absent. */
  readonly agent?: http.Agent;
  /** A deadline on the whole answer, headers and body, in ms from when the request has its connection (as @kv/client's boundedTimerMs takes it: 0 or infinite is none, past 2^31 − 1 ms that long). */
  readonly timeoutMs: number;
  /** The most body bytes read; a longer answer is an error, not a truncated one. */
  readonly maxBytes: number;
  /** Gives the request up, waiting for a connection or not: it fails with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** A whole answer: its status and its body as UTF-8 text. */
export interface Answer {
  readonly status: number;
  readonly text: string;
}

/**
 * Whether an answer's body has its end marked (a Content-Length, or chunked framing), from
 * its headers as Node or undici give them. One without either ends with the connection, so a
 * body cut off by a reset cannot be told from a whole one.
 */
export function hasBodyFraming(contentLength: unknown, transferEncoding: string | string[] | undefined): boolean {
  const encoding = Array.isArray(transferEncoding) ? transferEncoding.join(',') : (transferEncoding ?? '');
  return contentLength !== undefined || /chunked/i.test(encoding);
}

/** Why a request got no usable answer: `reason` alone, and the message naming the URL too. */
export class AnswerError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
    /** The deadline passed: no whole answer within `timeoutMs`. */
    readonly timedOut = false,
  ) {
    super(`${url}: ${reason}`);
    this.name = 'AnswerError';
  }
}

/**
 * One HTTP request whose whole answer must arrive within `timeoutMs` and hold at most
 * `maxBytes` of body. Node's `setTimeout` on a request is the socket's idle time, which an
 * answer trickling in a byte at a time never reaches; this is a deadline, as the storm's
 * writes and the client library's requests have. It runs from the moment the request gets
 * its connection (connecting included), not from the call: a check that sends thousands of
 * reads through an agent of a few sockets queues most of them, and the queue is the caller's
 * to bound (`signal`: checkConsistency gives up on a node's other reads once one timed out).
 * An answer with a body but neither a Content-Length nor chunked framing (any status but
 * 204 and 304) is refused (`answer without a length`): cut off by the server's close, it
 * could not be told from whole.
 * Plain `http`, not @kv/client: these reads run between storms and must be cheap and know
 * nothing of failover.
 *
 * Rejects with an AnswerError naming the URL and the problem: `no whole answer within N ms`,
 * `answer over N bytes`, `answer cut off`, `answer without a length`, the signal's reason,
 * or the socket's own error (ECONNREFUSED...).
 */
export function requestAnswer(url: string | URL, request: AnswerRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const target = typeof url === 'string' ? new URL(url) : url;
    const payload = request.json === undefined ? undefined : JSON.stringify(request.json);
    const headers = payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
    let settled = false;
    let deadline: NodeJS.Timeout | undefined;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      outcome();
    };
    const fail = (reason: string, timedOut = false): void => settle(() => reject(new AnswerError(target.href, reason, timedOut)));
    const outgoing = http.request(target, { method: request.method ?? 'GET', agent: request.agent, headers, signal: request.signal }, (response) => {
      const status = response.statusCode ?? 0;
      if (!hasBodyFraming(response.headers['content-length'], response.headers['transfer-encoding']) && status !== 204 && status !== 304) {
        fail('answer without a length');
        outgoing.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > request.maxBytes) {
          fail(`answer over ${request.maxBytes} bytes`);
          outgoing.destroy();
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', (error) => fail(error.message));
      response.on('end', () => {
        if (!response.complete) return fail('answer cut off');
        settle(() => resolve({ status, text: Buffer.concat(chunks).toString('utf8') }));
      });
      // A body cut by a reset may close without an error or an end.
      response.on('close', () => response.complete || fail('answer cut off'));
    });
    const timeoutMs = boundedTimerMs(request.timeoutMs);
    outgoing.once('socket', () => {
      if (settled || timeoutMs === null) return;
      deadline = setTimeout(() => {
        fail(`no whole answer within ${request.timeoutMs} ms`, true);
        outgoing.destroy();
      }, timeoutMs);
    });
    outgoing.on('error', (error) => {
      const given = request.signal?.aborted ? request.signal.reason : undefined;
      fail(given instanceof Error ? given.message : error.message);
    });
    outgoing.end(payload);
  });
}

/**
 * A deadline for a stream to be established (`timeoutMs`, ms from now): destroys `request`
 * with `message` unless the returned `established()` is called first. Node's request timeout
 * is the socket's idle time, which a server sending 1xx answers or a trickle of bytes that
 * never establish the stream (no 200, no confirmation) never reaches. `established()` is safe
 * to call more than once; the request's own `close` clears the timer too. `timeoutMs` is
 * taken as boundedTimerMs takes it (0 or infinite: none).
 */
export function establishWithin(request: http.ClientRequest, timeoutMs: number, message: string): () => void {
  const ms = boundedTimerMs(timeoutMs);
  const timer = ms === null ? undefined : setTimeout(() => request.destroy(new Error(message)), ms);
  const established = () => clearTimeout(timer);
  request.once('close', established);
  return established;
}
