import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
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

/**
 * One write; resolves once the whole answer is read, never rejects. A write whose whole
 * answer has not arrived `timeoutMs` after it was sent is a `timeout` (undici's own timeouts
 * are idle timeouts, one for the headers and one for the body, so they only bound the wait).
 * The body is read to its end, not dumped: `dump()` gives up after 128 KiB and resolves even
 * when the body failed, which counted a cut-off answer as a success.
 *
 * undici, not Node's `http.request` (nor @kv/client's axios): the generator runs on the two
 * cores the measured systems run on, so what it spends per write is taken from them, and
 * more from the cheaper system (it dilutes a ratio toward 1). Measured 2026-11-30 on this
 * machine, 64 writers against a do-nothing server, interleaved: 30-36 µs of the generator's
 * CPU per write against 39-47 µs with `http.request` (README, "Against etcd", fourth round,
 * has the storm's figures); axios had cost 10-30% of the throughput against `http.request`.
 */
async function put(pool: Pool, method: 'PUT' | 'POST', path: string, body: string, timeoutMs: number, sentAt: number): Promise<WriteOutcome> {
  try {
    const response = await pool.request({
      path,
      method,
      headers: { 'content-type': 'application/json' },
      body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    // The latency ends when the answer has fully arrived, as a client would see it.
    await response.body.arrayBuffer();
    if (performance.now() - sentAt > timeoutMs) return { ok: false, kind: 'timeout' };
    return response.statusCode === 200 ? { ok: true } : { ok: false, kind: `HTTP ${response.statusCode}` };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code && TIMEOUT_CODES.has(code)) return { ok: false, kind: 'timeout' };
    return { ok: false, kind: code ?? (error instanceof Error ? error.message : String(error)) };
  }
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
