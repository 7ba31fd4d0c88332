/**
 * What the main thread asks the load generator to do and what it gets back. Plain data, so it
 * crosses the worker boundary by structured clone.
 */

/** One storm: `writes` PUTs to `targetUrl` by `concurrency` writers, each waiting for its answer before the next. */
export interface StormSpec {
  /** The leader's (or the reference server's, or an etcd member's) base URL. */
  readonly targetUrl: string;
  /**
   * `kv`: `PUT /kv/:key?w=N` with `{"value": V}` (this store, the reference server); `etcd`:
   * `POST /v3/kv/put` with base64 `key` and `value` through etcd's HTTP gateway (the value's
   * bytes are the same string's).
   */
  readonly protocol?: 'kv' | 'etcd';
  /** Sent as `?w=N`, so one cluster serves every quorum. */
  readonly quorum: number;
  /** The most writes the storm sends: the loop's count bound. */
  readonly writes: number;
  readonly concurrency: number;
  readonly keys: readonly string[];
  /** Length of each written string value. */
  readonly valueSize: number;
  /** Tags the values so a consistency check can tell storms apart. */
  readonly label: string;
  /** No write starts after this long: the loop's time bound. */
  readonly timeLimitMs: number;
  /** A write without an answer after this long counts as a failure. */
  readonly requestTimeoutMs: number;
}

/** What one storm measured. */
export interface StormSample {
  /** Latency of every write answered 200, in completion order, in ms. */
  readonly latenciesMs: Float64Array<ArrayBuffer>;
  /** Writes sent (answered or failed). */
  readonly attempted: number;
  readonly succeeded: number;
  /** Failed writes by kind: `HTTP 503`, `timeout`, `ECONNREFUSED`, `UND_ERR_SOCKET` (the connection closed before the whole answer), ... */
  readonly failures: Readonly<Record<string, number>>;
  /** From the first write sent to the last answer received. */
  readonly durationMs: number;
  /** Wall clock (ms since epoch) of the last answer: when replication may still be in flight. */
  readonly endedAtEpochMs: number;
  /** True when the time limit stopped the storm before it sent every write. */
  readonly cutShort: boolean;
}

/** Messages from the main thread to the load worker. */
export type WorkerCommand = { readonly type: 'storm'; readonly id: number; readonly spec: StormSpec } | { readonly type: 'close' };

/** Messages from the load worker to the main thread. */
export type WorkerReport =
  | { readonly type: 'progress'; readonly id: number; readonly completed: number }
  | { readonly type: 'done'; readonly id: number; readonly sample: StormSample }
  | { readonly type: 'failed'; readonly id: number; readonly message: string };
