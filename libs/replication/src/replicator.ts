import type { Entry } from '@kv/store';
import type { FollowerState, FollowerStatus } from '@kv/protocol';

/** What the replicator reads from the leader's store to catch a follower up. */
export interface ReplicationSource {
  /** The highest version the follower may be sent: everything up to it is durable on the leader. */
  version(): number;
  /** Current entries, tombstones included, with after < version <= through, in version order. */
  entriesAfter(after: number, through: number, limit: number): Entry[];
}

/** Told which followers acked or failed which live versions; drives the write quorums. */
export interface AckListener {
  acked(follower: string, versions: readonly number[]): void;
  failed(follower: string, versions: readonly number[]): void;
}

export type MessageKind = 'append' | 'catch-up' | 'heartbeat';

export interface OutgoingMessage {
  readonly id: number;
  readonly follower: string;
  readonly kind: MessageKind;
  readonly entries: readonly Entry[];
  /** Serialized size of each entry, so a retried batch keeps to the byte budget. */
  readonly entryBytes: readonly number[];
  readonly catchUp?: { readonly from: number; readonly through: number };
  /** Catch-up generation the message belongs to; answers from an abandoned one are not counted. */
  readonly generation: number;
}

/** A follower's answer, already validated. */
export interface FollowerPosition {
  readonly followerId: string;
  readonly appliedVersion: number;
}

export interface ReplicatorOptions {
  readonly followers: readonly string[];
  /** Simulated network: every entry, catch-up batch and heartbeat waits U[min, max] ms. */
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly random?: () => number;
  readonly heartbeatIntervalMs?: number;
  /**
   * Append requests on the wire per follower; entries that become ready meanwhile travel
   * together. One (the default) halves the requests of a busy cluster against two, and
   * requests, not entries, are what a loaded node pays for (tools/perf throughput mode).
   */
  readonly maxAppendsInFlight?: number;
  readonly maxBatchEntries?: number;
  readonly maxBatchBytes?: number;
  readonly catchUpBatchEntries?: number;
  readonly maxCatchUpInFlight?: number;
  /** Past this many waiting entries a follower stops getting a queue and is caught up from state. */
  readonly maxQueuedEntries?: number;
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** Consecutive failed requests after which a follower is considered down. */
  readonly failuresBeforeDown?: number;
}

type Mode = 'replicate' | 'catch-up' | 'probe';

interface QueuedEntry {
  readonly entry: Entry;
  readonly bytes: number;
  /** When its simulated network delay has passed. */
  readonly readyAt: number;
}

interface CatchUp {
  /** Batches cover (cursor, ...]; everything up to cursor is sent or acked. */
  cursor: number;
  /** Catch-up ends here; versions above it reach the follower live. */
  readonly target: number;
  readyAt: number;
  inFlight: number;
}

/**
 * The leader's view of one follower.
 * Invariant: in modes `replicate` and `catch-up`, every version >= liveFrom is queued, in
 * flight, or acked; versions in (ackedVersion, liveFrom) are covered by the catch-up.
 */
class Progress {
  mode: Mode = 'replicate';
  /** Unknown until the first answer. */
  followerId: string | null = null;
  /** Ids of incarnations that were replaced; late answers from them say nothing about now. */
  readonly retiredIds = new Set<string>();
  /** The follower has every write up to here (as it last told us). */
  ackedVersion = 0;
  liveFrom: number;
  queue: QueuedEntry[] = [];
  appendsInFlight = 0;
  catchUp: CatchUp | null = null;
  generation = 0;
  heartbeatInFlight = false;
  nextHeartbeatAt: number;
  consecutiveFailures = 0;
  lastError: string | null = null;

  constructor(
    readonly url: string,
    liveFrom: number,
    firstHeartbeatAt: number,
  ) {
    this.liveFrom = liveFrom;
    this.nextHeartbeatAt = firstHeartbeatAt;
  }

  get state(): FollowerState {
    if (this.mode === 'probe') return 'down';
    if (this.mode === 'catch-up' || this.followerId === null) return 'catching-up';
    return 'up';
  }
}

const DEFAULTS = {
  heartbeatIntervalMs: 250,
  maxAppendsInFlight: 1,
  maxBatchEntries: 2000,
  maxBatchBytes: 4 * 1024 * 1024,
  catchUpBatchEntries: 5000,
  maxCatchUpInFlight: 2,
  maxQueuedEntries: 20_000,
  retryBaseMs: 50,
  retryMaxMs: 200,
  failuresBeforeDown: 3,
};

/**
 * The leader's replication bookkeeping, without I/O (etcd-raft style): writes and answers
 * go in, messages to send come out.
 *
 * Call order: `append` for each new write; `takeMessages(now)` after any call and when
 * `nextWakeAt()` has come; exactly one of `onResponse` / `onFailure` per message taken.
 */
export class Replicator {
  private readonly options: Required<ReplicatorOptions>;
  private readonly progress: Progress[];
  private readonly progressByUrl = new Map<string, Progress>();
  private nextMessageId = 1;

  constructor(
    options: ReplicatorOptions,
    private readonly source: ReplicationSource,
    private readonly listener: AckListener,
    now: number,
  ) {
    this.options = { random: Math.random, ...DEFAULTS, ...options };
    this.progress = options.followers.map((url) => new Progress(url, source.version() + 1, now + this.delay()));
    for (const p of this.progress) this.progressByUrl.set(p.url, p);
  }

  /** Queues a new write for every follower that is not down. */
  append(entry: Entry, bytes: number, now: number): void {
    for (const p of this.progress) {
      if (p.mode === 'probe') {
        this.listener.failed(p.url, [entry.version]);
        continue;
      }
      if (p.queue.length >= this.options.maxQueuedEntries) {
        this.markDown(p, `fell ${p.queue.length} entries behind; will catch up from state`, now);
        this.listener.failed(p.url, [entry.version]);
        continue;
      }
      insertByReadyAt(p.queue, { entry, bytes, readyAt: now + this.delay() });
    }
  }

  /** Messages due now. Each must be answered with onResponse or onFailure. */
  takeMessages(now: number): OutgoingMessage[] {
    const out: OutgoingMessage[] = [];
    for (const p of this.progress) {
      if (p.mode !== 'probe') {
        this.takeAppends(p, now, out);
        this.takeCatchUp(p, now, out);
      }
      if (!p.heartbeatInFlight && now >= p.nextHeartbeatAt) {
        p.heartbeatInFlight = true;
        out.push(this.message(p, 'heartbeat', [], []));
      }
    }
    for (const m of out) {
      // Any message proves liveness as well as a heartbeat would.
      const p = this.byUrl(m.follower);
      p.nextHeartbeatAt = Math.max(p.nextHeartbeatAt, now + this.options.heartbeatIntervalMs + this.delay());
    }
    return out;
  }

  /** The earliest time takeMessages could return something new, or Infinity. */
  nextWakeAt(): number {
    let earliest = Infinity;
    for (const p of this.progress) {
      if (!p.heartbeatInFlight) earliest = Math.min(earliest, p.nextHeartbeatAt);
      if (p.mode === 'probe') continue;
      if (p.queue.length > 0 && p.appendsInFlight < this.options.maxAppendsInFlight) {
        earliest = Math.min(earliest, p.queue[0].readyAt);
      }
      const c = p.catchUp;
      if (c && c.cursor < c.target && c.inFlight < this.options.maxCatchUpInFlight) {
        earliest = Math.min(earliest, c.readyAt);
      }
    }
    return earliest;
  }

  onResponse(message: OutgoingMessage, position: FollowerPosition, now: number): void {
    const p = this.byUrl(message.follower);
    this.release(p, message);
    if (p.retiredIds.has(position.followerId)) return;
    p.consecutiveFailures = 0;
    p.lastError = null;

    const restarted = p.followerId !== null && p.followerId !== position.followerId;
    const firstContact = p.followerId === null;
    if (restarted) p.retiredIds.add(p.followerId as string);
    p.followerId = position.followerId;
    p.ackedVersion = restarted ? position.appliedVersion : Math.max(p.ackedVersion, position.appliedVersion);

    // The answering process applied these entries, whichever incarnation it is.
    if (message.kind === 'append') {
      this.listener.acked(p.url, message.entries.map((e) => e.version));
    }

    if (p.mode === 'probe' || restarted) {
      // Back (or back with an empty memory): everything it may lack so far comes from state,
      // everything from now on live.
      p.liveFrom = this.source.version() + 1;
      this.startCatchUp(p, now);
    } else if (firstContact) {
      this.startCatchUp(p, now);
    } else if (p.catchUp && p.catchUp.cursor >= p.catchUp.target && p.catchUp.inFlight === 0) {
      this.finishCatchUp(p);
    }
  }

  onFailure(message: OutgoingMessage, error: string, now: number): void {
    const p = this.byUrl(message.follower);
    this.release(p, message);
    p.consecutiveFailures++;
    p.lastError = error;
    const backoff = this.backoff(p);

    if (message.kind === 'append') {
      if (p.mode === 'probe') {
        // Given up on already: these entries will reach it by catch-up, too late for their quorum.
        this.listener.failed(p.url, message.entries.map((e) => e.version));
      } else {
        // Retried after a backoff, without holding back newer entries that are ready sooner.
        // The quorum hears of a failure only if the follower is given up on (markDown).
        message.entries.forEach((entry, i) => {
          const readyAt = now + backoff + this.delay();
          insertByReadyAt(p.queue, { entry, bytes: message.entryBytes[i], readyAt });
        });
      }
    } else if (message.kind === 'catch-up' && p.catchUp && message.generation === p.generation) {
      // Resume from what the follower confirmed; batches still in flight are ignored.
      p.generation++;
      p.catchUp = { cursor: p.ackedVersion, target: p.catchUp.target, readyAt: now + backoff + this.delay(), inFlight: 0 };
    } else if (message.kind === 'heartbeat') {
      p.nextHeartbeatAt = now + backoff + this.delay();
    }

    if (p.mode !== 'probe' && p.consecutiveFailures >= this.options.failuresBeforeDown) {
      this.markDown(p, error, now);
    }
  }

  /** The lowest version every follower has; tombstones at or below it can be dropped. */
  minAckedVersion(): number {
    return this.progress.reduce((min, p) => Math.min(min, p.ackedVersion), Infinity);
  }

  /** Per follower; `lag` counts from `leaderVersion`, the version the leader shows (API.md: `version - ackedVersion`). */
  status(leaderVersion: number): FollowerStatus[] {
    return this.progress.map((p) => ({
      url: p.url,
      ackedVersion: p.ackedVersion,
      lag: Math.max(0, leaderVersion - p.ackedVersion),
      state: p.state,
      lastError: p.lastError,
    }));
  }

  private takeAppends(p: Progress, now: number, out: OutgoingMessage[]): void {
    while (p.appendsInFlight < this.options.maxAppendsInFlight && p.queue.length > 0 && p.queue[0].readyAt <= now) {
      let count = 0;
      let bytes = 0;
      while (
        count < p.queue.length &&
        p.queue[count].readyAt <= now &&
        count < this.options.maxBatchEntries &&
        (count === 0 || bytes + p.queue[count].bytes <= this.options.maxBatchBytes)
      ) {
        bytes += p.queue[count].bytes;
        count++;
      }
      const batch = p.queue.splice(0, count);
      p.appendsInFlight++;
      out.push(this.message(p, 'append', batch.map((q) => q.entry), batch.map((q) => q.bytes)));
    }
  }

  private takeCatchUp(p: Progress, now: number, out: OutgoingMessage[]): void {
    const c = p.catchUp;
    while (c && c.cursor < c.target && c.inFlight < this.options.maxCatchUpInFlight && c.readyAt <= now) {
      const limit = this.options.catchUpBatchEntries;
      const entries = this.source.entriesAfter(c.cursor, c.target, limit);
      const through = entries.length < limit ? c.target : entries[entries.length - 1].version;
      out.push(this.message(p, 'catch-up', entries, [], { from: c.cursor, through }));
      c.cursor = through;
      c.inFlight++;
      c.readyAt = now + this.delay();
    }
  }

  private startCatchUp(p: Progress, now: number): void {
    p.generation++;
    const target = p.liveFrom - 1;
    if (p.ackedVersion >= target) {
      p.catchUp = null;
      p.mode = 'replicate';
      return;
    }
    p.mode = 'catch-up';
    p.catchUp = { cursor: p.ackedVersion, target, readyAt: now + this.delay(), inFlight: 0 };
  }

  private finishCatchUp(p: Progress): void {
    p.catchUp = null;
    p.mode = 'replicate';
  }

  private markDown(p: Progress, reason: string, now: number): void {
    if (p.queue.length > 0) this.listener.failed(p.url, p.queue.map((q) => q.entry.version));
    p.queue = [];
    p.catchUp = null;
    p.generation++;
    p.mode = 'probe';
    p.lastError = reason;
    p.nextHeartbeatAt = Math.min(p.nextHeartbeatAt, now + this.backoff(p) + this.delay());
  }

  private release(p: Progress, message: OutgoingMessage): void {
    if (message.kind === 'heartbeat') p.heartbeatInFlight = false;
    else if (message.kind === 'append') p.appendsInFlight--;
    else if (p.catchUp && message.generation === p.generation) p.catchUp.inFlight--;
  }

  private message(
    p: Progress,
    kind: MessageKind,
    entries: Entry[],
    entryBytes: number[],
    catchUp?: OutgoingMessage['catchUp'],
  ): OutgoingMessage {
    return { id: this.nextMessageId++, follower: p.url, kind, entries, entryBytes, catchUp, generation: p.generation };
  }

  private backoff(p: Progress): number {
    const exponent = Math.max(0, p.consecutiveFailures - 1);
    return Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** exponent);
  }

  private delay(): number {
    const { minDelayMs, maxDelayMs, random } = this.options;
    return maxDelayMs <= minDelayMs ? minDelayMs : minDelayMs + random() * (maxDelayMs - minDelayMs);
  }

  private byUrl(url: string): Progress {
    const p = this.progressByUrl.get(url);
    if (!p) throw new Error(`unknown follower ${url}`);
    return p;
  }
}

/** Keeps the queue sorted by readyAt; appends at the end in the common in-order case. */
function insertByReadyAt(queue: QueuedEntry[], item: QueuedEntry): void {
  let i = queue.length;
  while (i > 0 && queue[i - 1].readyAt > item.readyAt) i--;
  queue.splice(i, 0, item);
}
