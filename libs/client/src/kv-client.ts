import type { FollowerNodeStatus, HealthResponse, LeaderStatus, ListResponse, ReadResponse, WriteResponse } from '@kv/protocol';
import type { JsonValue } from '@kv/store';
import { normalizeEndpoint, startingAt } from './endpoints';
import { KvClientError, NotLeaderError, RequestTimeoutError, UnreachableError, errorFromAnswer, isRecord } from './errors';
import { Transport, TransportFailure, type HttpAnswer, type HttpRequest } from './transport';
import { watchEvents, type WatchEvent, type WatchOptions } from './watch';

export interface KvClientOptions {
  /** Base URLs of the nodes (`http://127.0.0.1:8000`); at least one. Writes start at the first. */
  readonly endpoints: readonly string[];
  /** How long one request may take, in ms (default 10,000). */
  readonly timeoutMs?: number;
  /** Extra attempts for what is safe to repeat: reads, and writes marked `idempotent` (default 2). */
  readonly retries?: number;
  /** Pause before the first retry in ms, doubled for each next one (default 100). */
  readonly retryDelayMs?: number;
  /** Reads go here when set; otherwise to the first endpoint that answers, in list order. */
  readonly readEndpoint?: string;
  /** Keep connections open between requests (default true); call {@link KvClient.close} when done. */
  readonly keepAlive?: boolean;
}

export interface ReadOptions {
  /** Ask this node only, instead of the first that answers. */
  readonly endpoint?: string;
  /** Read-your-writes: answer only once the node holds every write up to this version. */
  readonly minVersion?: number;
  /** How long the node may wait for `minVersion`, in ms (the API's `?timeout=`, default 1000, at most 10,000). */
  readonly waitMs?: number;
}

export interface WriteOptions {
  /** Follower acks to wait for (the API's `?w=`), 0 to the follower count. */
  readonly w?: number;
  /** Apply only if the key's version is exactly this; 0: only if the key is absent. */
  readonly ifVersion?: number;
  /**
   * The caller says repeating this write is harmless (say, the same value again): it is
   * then retried after a timeout or a broken connection. Otherwise only a write that never
   * left (connection refused) is sent again, to another endpoint.
   */
  readonly idempotent?: boolean;
}

export interface ListOptions extends ReadOptions {
  readonly prefix?: string;
  /** Start after this key (exclusive). */
  readonly after?: string;
  /** Items per page (the API's `limit`, default 1000, at most 10,000). */
  readonly pageSize?: number;
}

/** A `GET /kv/:key` answer with the node's `X-Applied-Version` (null when the node sent none). */
export interface ReadResult extends ReadResponse {
  readonly appliedVersion: number | null;
}

export type NodeStatus = LeaderStatus | FollowerNodeStatus;

/** `/readyz`: `ready` false on 503, with the node's `reason`. */
export interface Readiness {
  readonly ready: boolean;
  readonly status: string;
  readonly reason?: string;
  readonly [field: string]: unknown;
}

/** Follower hints followed for one write before giving up (a loop of stale hints ends here). */
const MAX_LEADER_HOPS = 5;

/**
 * A typed client of the store's HTTP API (API.md). Reads go to any node; writes find the
 * leader, following a follower's 403 `leader` hint, and remember it for the next write.
 * Every failure is a {@link KvClientError}: a subclass by the API's `code`, or
 * `UNREACHABLE` / `TIMEOUT` / `CONNECTION_LOST` naming the endpoints tried.
 */
export class KvClient {
  readonly endpoints: readonly string[];
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly readEndpoint: string | null;
  private readonly transport: Transport;
  private knownLeader: string | null = null;
  private lastReadEndpoint: string | null = null;

  constructor(options: KvClientOptions) {
    this.endpoints = [...new Set(options.endpoints.map(normalizeEndpoint))];
    if (this.endpoints.length === 0) throw new Error('KvClient needs at least one endpoint');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retries = options.retries ?? 2;
    this.retryDelayMs = options.retryDelayMs ?? 100;
    this.readEndpoint = options.readEndpoint === undefined ? null : normalizeEndpoint(options.readEndpoint);
    this.transport = new Transport(options.keepAlive ?? true);
  }

  /** The leader the last write reached, or a follower's hint; null until a write found it. */
  get leader(): string | null {
    return this.knownLeader;
  }

  /** `GET /kv/:key`. Throws KeyNotFoundError (404), NotCaughtUpError (503 with `minVersion`). */
  async get(key: string, options: ReadOptions = {}): Promise<ReadResult> {
    const answer = await this.read(keyPath(key), readQuery(options), options);
    const body = expectRecord(answer) as unknown as ReadResponse;
    return { key: body.key, value: body.value, version: body.version, appliedVersion: appliedVersionOf(answer) };
  }

  /** `PUT /kv/:key` `{"value"}`. Throws QuorumNotReachedError (the write stays applied), VersionMismatchError, ... */
  put(key: string, value: JsonValue, options: WriteOptions = {}): Promise<WriteResponse> {
    return this.write('PUT', key, { value }, options);
  }

  /** `DELETE /kv/:key`. Throws KeyNotFoundError when absent, and as {@link put} does. */
  delete(key: string, options: WriteOptions = {}): Promise<WriteResponse> {
    return this.write('DELETE', key, undefined, options);
  }

  /** One page of `GET /kv?prefix=&after=&limit=`, from one node. */
  async listPage(options: ListOptions = {}): Promise<ListResponse & { appliedVersion: number | null }> {
    const query = { prefix: options.prefix || undefined, after: options.after || undefined, limit: options.pageSize, ...readQuery(options) };
    const answer = await this.read('/kv', query, options);
    const body = expectRecord(answer);
    if (!Array.isArray(body.items)) throw badAnswer(answer, 'a listing without items');
    return { items: body.items as ReadResponse[], next: typeof body.next === 'string' ? body.next : null, appliedVersion: appliedVersionOf(answer) };
  }

  /**
   * Every item under `prefix` in key order, page after page following `next`. Pages come
   * from the node that answered the first one (when it stays reachable), so a listing does
   * not mix nodes' states.
   */
  async *list(options: ListOptions = {}): AsyncGenerator<ReadResponse, void, undefined> {
    let after = options.after;
    let endpoint = options.endpoint;
    for (;;) {
      const page = await this.listPage({ ...options, after, endpoint });
      endpoint ??= this.lastReadEndpoint ?? undefined;
      yield* page.items;
      if (page.next === null) return;
      after = page.next;
    }
  }

  /** `GET /status` of one node (the first that answers unless `endpoint` is given). */
  async status(options: Pick<ReadOptions, 'endpoint'> = {}): Promise<NodeStatus> {
    return expectRecord(await this.read('/status', {}, options)) as unknown as NodeStatus;
  }

  /** `GET /health`. */
  async health(options: Pick<ReadOptions, 'endpoint'> = {}): Promise<HealthResponse> {
    return expectRecord(await this.read('/health', {}, options)) as unknown as HealthResponse;
  }

  /** `GET /livez`: resolves when the process serves HTTP. */
  async livez(options: Pick<ReadOptions, 'endpoint'> = {}): Promise<{ status: string }> {
    return expectRecord(await this.read('/livez', {}, options)) as unknown as { status: string };
  }

  /** `GET /readyz`: a 503 is an answer here (`ready: false` with the node's reason), not an error. */
  async readyz(options: Pick<ReadOptions, 'endpoint'> = {}): Promise<Readiness> {
    const answer = await this.readAnswer('/readyz', {}, options);
    if (answer.status !== 200 && answer.status !== 503) throw errorFromAnswer(answer.status, answer.body, answer.endpoint);
    const body = isRecord(answer.body) ? answer.body : {};
    return { ...body, ready: answer.status === 200, status: typeof body.status === 'string' ? body.status : String(answer.status) };
  }

  /** `GET /metrics`: Prometheus text. */
  async metrics(options: Pick<ReadOptions, 'endpoint'> = {}): Promise<string> {
    const answer = await this.read('/metrics', {}, options);
    return typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
  }

  /**
   * `GET /watch`: every change under `prefix` after `fromVersion`, as they happen. Reconnects
   * (to the next endpoint when one fails) with `Last-Event-ID` set to the last version seen,
   * so nothing is missed. Ends when the caller stops iterating or `signal` aborts; throws
   * HistoryCompactedError (410) when the node cannot serve `fromVersion`.
   */
  watch(options: WatchOptions = {}): AsyncGenerator<WatchEvent, void, undefined> {
    const endpoints = options.endpoint ? [normalizeEndpoint(options.endpoint)] : this.readOrder();
    return watchEvents(this.transport, endpoints, options);
  }

  /** Closes idle keep-alive connections. The client stays usable. */
  close(): void {
    this.transport.close();
  }

  private readOrder(): string[] {
    if (this.readEndpoint !== null) return [this.readEndpoint];
    return startingAt(this.endpoints, this.lastReadEndpoint);
  }

  private async read(path: string, query: HttpRequest['query'], options: Pick<ReadOptions, 'endpoint' | 'minVersion' | 'waitMs'>): Promise<HttpAnswer> {
    const answer = await this.readAnswer(path, query, options);
    if (answer.status < 200 || answer.status > 299) throw errorFromAnswer(answer.status, answer.body, answer.endpoint);
    return answer;
  }

  /** Any answer of the first endpoint that gives one; reads are safe to repeat, so retried. */
  private async readAnswer(path: string, query: HttpRequest['query'], options: Pick<ReadOptions, 'endpoint' | 'minVersion' | 'waitMs'>): Promise<HttpAnswer> {
    const endpoints = options.endpoint ? [normalizeEndpoint(options.endpoint)] : this.readOrder();
    // A node may hold a minVersion read for its wait (1 s by default): the client waits that long and more.
    const timeoutMs = options.minVersion === undefined ? this.timeoutMs : Math.max(this.timeoutMs, (options.waitMs ?? 1000) + 1000);
    const failures: TransportFailure[] = [];
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) await sleep(this.retryDelayMs * 2 ** (attempt - 1));
      for (const endpoint of endpoints) {
        try {
          const answer = await this.transport.request({ endpoint, method: 'GET', path, query, timeoutMs });
          if (!options.endpoint) this.lastReadEndpoint = endpoint;
          return answer;
        } catch (error) {
          if (!(error instanceof TransportFailure)) throw error;
          failures.push(error);
        }
      }
    }
    throw noAnswer(failures);
  }

  private async write(method: 'PUT' | 'DELETE', key: string, body: unknown, options: WriteOptions): Promise<WriteResponse> {
    const query = { w: options.w, ifVersion: options.ifVersion };
    const failures: TransportFailure[] = [];
    let notLeader: NotLeaderError | null = null;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) await sleep(this.retryDelayMs * 2 ** (attempt - 1));
      const tried = new Set<string>();
      let target: string | null = this.knownLeader ?? this.endpoints[0];
      let hops = 0;
      while (target !== null) {
        tried.add(target);
        let answer: HttpAnswer;
        try {
          answer = await this.transport.request({ endpoint: target, method, path: keyPath(key), query, body, timeoutMs: this.timeoutMs });
        } catch (error) {
          if (!(error instanceof TransportFailure)) throw error;
          failures.push(error);
          if (this.knownLeader === target) this.knownLeader = null;
          // A request that left may have been applied: only a caller's say-so makes it safe to resend.
          if (error.kind !== 'not-sent' && !options.idempotent) throw noAnswer([error], ' (the write may have been applied)');
          target = nextUntried(this.endpoints, tried);
          continue;
        }
        if (answer.status >= 200 && answer.status <= 299) {
          this.knownLeader = target;
          return expectRecord(answer) as unknown as WriteResponse;
        }
        const error = errorFromAnswer(answer.status, answer.body, answer.endpoint);
        if (!(error instanceof NotLeaderError)) throw error;
        // 403 NOT_LEADER applies nothing: following the hint is always safe.
        notLeader = error;
        if (this.knownLeader === target) this.knownLeader = null;
        const hint = error.leader === null ? null : normalizeEndpoint(error.leader);
        if (hint !== null && !tried.has(hint) && hops++ < MAX_LEADER_HOPS) {
          this.knownLeader = hint;
          target = hint;
        } else {
          target = nextUntried(this.endpoints, tried);
        }
      }
      // Every endpoint refused the write as a follower, with no usable hint: retrying will not help.
      if (notLeader !== null && failures.length === 0) break;
    }
    if (notLeader !== null && failures.length === 0) {
      throw new NotLeaderError('NOT_LEADER', `no leader among ${this.endpoints.join(', ')}: ${notLeader.message}`, 403, notLeader.details, notLeader.endpoint);
    }
    throw noAnswer(failures);
  }
}

function keyPath(key: string): string {
  return `/kv/${encodeURIComponent(key)}`;
}

function readQuery(options: ReadOptions): Record<string, number | undefined> {
  return { minVersion: options.minVersion, timeout: options.minVersion === undefined ? undefined : options.waitMs };
}

function appliedVersionOf(answer: HttpAnswer): number | null {
  const header = answer.headers['x-applied-version'];
  const version = header === undefined ? NaN : Number(header);
  return Number.isSafeInteger(version) ? version : null;
}

function expectRecord(answer: HttpAnswer): Record<string, unknown> {
  if (!isRecord(answer.body)) throw badAnswer(answer, 'an answer that is not a JSON object');
  return answer.body;
}

function badAnswer(answer: HttpAnswer, what: string): KvClientError {
  return new KvClientError('BAD_ANSWER', `${answer.endpoint}: ${what} (HTTP ${answer.status})`, answer.status, {}, answer.endpoint);
}

function nextUntried(endpoints: readonly string[], tried: ReadonlySet<string>): string | null {
  return endpoints.find((e) => !tried.has(e)) ?? null;
}

/** The error for requests that got no answer: TIMEOUT if any timed out, else UNREACHABLE or CONNECTION_LOST. */
function noAnswer(failures: readonly TransportFailure[], suffix = ''): KvClientError {
  const unique = [...new Set(failures.map((f) => f.message))];
  const details = { failures: unique, endpoints: [...new Set(failures.map((f) => f.endpoint))] };
  const message = `${failures.length === 1 ? '' : 'no endpoint answered: '}${unique.join('; ')}${suffix}`;
  const endpoint = failures.length === 1 ? failures[0].endpoint : null;
  if (failures.some((f) => f.kind === 'timeout')) return new RequestTimeoutError('TIMEOUT', message, null, details, endpoint);
  if (failures.some((f) => f.kind === 'lost')) return new KvClientError('CONNECTION_LOST', message, null, details, endpoint);
  return new UnreachableError('UNREACHABLE', message, null, details, endpoint);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
