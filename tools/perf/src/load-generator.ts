import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { hasBodyFraming } from './http-answer';
import type { StormSample, StormSpec } from './storm-spec';

/** etcd's HTTP gateway (grpc-gateway) for a KV put; etcd 3.4 serves it under /v3. */
export const ETCD_PUT_PATH = '/v3/kv/put';

type WriteOutcome = { readonly ok: true } | { readonly ok: false; readonly kind: string };

/** The value of write number `seq`: unique per storm and write, padded to the asked size. */
export function stormValue(label: string, seq: number, size: number): string {
  const tag = `${label}#${seq}`;
  return tag.length >= size ? tag : tag + '.'.repeat(size - tag.length);
}

/**
 * The storm's keep-alive connections: an undici pool per target origin and number of
 * writers (`--concurrency`), kept from one storm to the next so the connections (and the
 * code) stay warm; a warm-up of fewer writes than writers opens some of the same pool's
 * connections. The pool holds at most one connection per writer, one write on each at a
 * time (no pipelining). Unbounded, it opened more: a writer's next write could start before
 * the pool had counted the connection of its last one as free again.
 */
export class StormConnections {
  private readonly pools = new Map<string, Pool>();

  /** The pool for `target`'s origin with `connections` connections at most, made on first use. */
  poolFor(target: URL, connections: number): Pool {
    const key = `${target.origin} ${connections}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new Pool(target.origin, { connections, pipelining: 1 });
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** Closes every connection at once (writes still in flight fail). */
  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy()));
  }
}

/** undici's names for a request that outlived its timeout, told as `timeout` like any other client would. */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The request headers of every write: one object, not one per write. */
const WRITE_HEADERS = { 'content-type': 'application/json' } as const;

/** The kind of a 200 whose body had neither a Content-Length nor chunked framing. */
export const UNFRAMED_ANSWER = 'answer without a length';

/**
 * One write; resolves once the whole answer is read, never rejects. The request timeout is a
 * deadline: a write whose whole answer has not arrived `timeoutMs` after it was sent is a
 * `timeout`, and one still arriving then (a body that trickles, 1xx answers that keep coming)
 * is abandoned at its next byte. undici's own timeouts are idle timeouts (one for the
 * headers, one for the body): they end a write that stalls. The answer counts only once its
 * body has ended (`onResponseEnd`): a body cut off or stalled ends in `onResponseError`
 * instead, so it is never a success. A 200 without a Content-Length or chunked framing is a
 * failure too: undici ends such a body on a connection reset as if it were whole, and the
 * store, etcd and the reference server always frame theirs.
 *
 * undici, not Node's `http.request` (nor @kv/client's axios): the generator runs on the two
 * cores the measured systems run on, so what it spends per write is taken from them, and
 * more from the cheaper system (it dilutes a ratio toward 1). And undici's `dispatch`, its
 * documented lowest-level call, rather than `request`, which wraps every answer in a
 * readable stream and promises the generator never needs (it only counts the bytes to the
 * end). Measured on this machine, 64 writers against a do-nothing server in another process,
 * interleaved, generator CPU per write: `http.request` 39-47 µs, `pool.request` 35-55 µs,
 * `pool.dispatch` 27-33 µs (2026-11-30; README, "Against etcd", fifth round).
 */
function put(pool: Pool, method: 'PUT' | 'POST', path: string, body: string, timeoutMs: number, sentAt: number): Promise<WriteOutcome> {
  return new Promise((resolve) => {
    let status = 0;
    let framed = false;
    const failed = (error: Error) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code && TIMEOUT_CODES.has(code)) return resolve({ ok: false, kind: 'timeout' });
      resolve({ ok: false, kind: code ?? error.message });
    };
    /** Past the deadline: counted as a timeout and the rest of the answer dropped. */
    const overdue = (controller: { abort(reason: Error): void }): boolean => {
      if (performance.now() - sentAt <= timeoutMs) return false;
      resolve({ ok: false, kind: 'timeout' });
      controller.abort(new Error('past the request deadline'));
      return true;
    };
    try {
      pool.dispatch(
        { path, method, headers: WRITE_HEADERS, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
        {
          onRequestStart: () => undefined,
          onResponseStart: (controller, statusCode, headers) => {
            if (overdue(controller)) return;
            status = statusCode;
            framed = hasBodyFraming(headers['content-length'], headers['transfer-encoding']);
          },
          // The body is read to its end (and dropped): the latency ends when the answer has
          // fully arrived, as a client would see it.
          onResponseData: (controller) => {
            overdue(controller);
          },
          onResponseEnd: () => {
            if (performance.now() - sentAt > timeoutMs) resolve({ ok: false, kind: 'timeout' });
            else if (status !== 200) resolve({ ok: false, kind: `HTTP ${status}` });
            else resolve(framed ? { ok: true } : { ok: false, kind: UNFRAMED_ANSWER });
          },
          // After an abort this reports it too: the promise has settled already and keeps its outcome.
          onResponseError: (_controller, error) => failed(error),
        },
      );
    } catch (error) {
      // A closed or destroyed pool refuses at once.
      failed(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

/**
 * Runs one storm: `concurrency` writers share a counter of writes; each sends a PUT, waits
 * for its answer and sends the next, until the count is reached or the time limit passes.
 * The connections stay open, so the storm measures the server, not TCP handshakes.
 */
export async function runStorm(spec: StormSpec, connections: StormConnections, onCompleted: (completed: number) => void = () => undefined): Promise<StormSample> {
  const latencies = new Float64Array(spec.writes);
  const failures: Record<string, number> = {};
  // Paths and keys are built once: the generator shares the CPU with the cluster it measures.
  const etcd = spec.protocol === 'etcd';
  const method = etcd ? 'POST' : 'PUT';
  const paths = spec.keys.map((key) => (etcd ? ETCD_PUT_PATH : `/kv/${encodeURIComponent(key)}?w=${spec.quorum}`));
  const etcdKeys = etcd ? spec.keys.map((key) => Buffer.from(key, 'utf8').toString('base64')) : [];
  const bodyOf = (seq: number): string => {
    const value = stormValue(spec.label, seq, spec.valueSize);
    return etcd
      ? JSON.stringify({ key: etcdKeys[seq % etcdKeys.length], value: Buffer.from(value, 'utf8').toString('base64') })
      : JSON.stringify({ value });
  };
  const writers = Math.min(spec.concurrency, spec.writes);
  const pool = connections.poolFor(new URL(spec.targetUrl), spec.concurrency);
  let issued = 0;
  let succeeded = 0;
  let completed = 0;
  const startedAt = performance.now();
  const deadline = startedAt + spec.timeLimitMs;
  let lastAnswerAt = startedAt;
  let lastAnswerEpochMs = Date.now();

  const writer = async (): Promise<void> => {
    while (issued < spec.writes && performance.now() < deadline) {
      const seq = issued++;
      const body = bodyOf(seq);
      const sentAt = performance.now();
      const outcome = await put(pool, method, paths[seq % paths.length], body, spec.requestTimeoutMs, sentAt);
      lastAnswerAt = performance.now();
      lastAnswerEpochMs = Date.now();
      if (outcome.ok) latencies[succeeded++] = lastAnswerAt - sentAt;
      else failures[outcome.kind] = (failures[outcome.kind] ?? 0) + 1;
      onCompleted(++completed);
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));

  return {
    latenciesMs: latencies.slice(0, succeeded),
    attempted: issued,
    succeeded,
    failures,
    durationMs: lastAnswerAt - startedAt,
    endedAtEpochMs: lastAnswerEpochMs,
    cutShort: issued < spec.writes,
  };
}
