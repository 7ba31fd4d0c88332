import type { Entry, StoreView } from '@kv/store';
import type { FollowerState, FollowerStatus, ReplicateResponse } from '@kv/protocol';
import { entryWireBytes } from '@kv/protocol';

/** What the replicator reads from the leader's store to catch a follower up. */
export interface ReplicationSource {
  /** The highest version the follower may be sent: everything up to it is durable on the leader. */
  version(): number;
  /** A frozen copy of the leader's state now (O(1)); a catch-up streams from it. */
  frozen(): StoreView;
}

/**
 * Told which followers hold which live versions, and which failed them; drives the write
 * quorums. Voters are follower URLs; one follower reached by two URLs is reported under
 * one of them only (API.md guarantee 6).
 */
export interface AckListener {
  /** The follower applied these entries (an answered append). */
  acked(follower: string, versions: readonly number[]): void;
  /** The follower holds every write up to `version`. */
  ackedThrough(follower: string, version: number): void;
  /**
   * An attempt to reach the follower, made after every write up to `version` had arrived,
   * failed, and the follower is given up on: those writes count it as failed. Writes that
   * arrived later wait for an attempt of their own (API.md guarantee 8).
   */
  failedThrough(follower: string, version: number): void;
  /** A follower starts joining (a delta catch-up or a full resync), or finished it. */
  syncStarted?(follower: string, plan: SyncPlan, through: number): void;
  syncFinished?(follower: string, plan: SyncPlan, through: number): void;
}

/** How a follower joins this leader's history, decided from its first answer (see sync-plan.ts). */
export type SyncPlan = { readonly kind: 'delta'; readonly from: number } | { readonly kind: 'resync'; readonly reason: string };

export type MessageKind = 'append' | 'catch-up' | 'heartbeat';

export interface OutgoingMessage {
  readonly id: number;
  readonly follower: string;
  readonly kind: MessageKind;
  readonly entries: readonly Entry[];
  /** Serialized size of each entry, so a retried batch keeps to the byte budget. */
  readonly entryBytes: readonly number[];
  /** The catch-up this message belongs to: its whole range, and whether it is the closing `done`. */
  readonly catchUp?: { readonly from: number; readonly through: number; readonly resync?: number; readonly done?: boolean };
  /** The plan (how the follower joined) the message belongs to; answers from an abandoned one are not counted. */
  readonly generation: number;
  /** For catch-up messages: which pass over the frozen state (a failed batch starts a new one). */
  readonly round: number;
  /** For a catch-up batch: the version its range starts after (it covers (batchAfter, …]). */
  readonly batchAfter?: number;
  /** The leader's version when the message was made: writes up to it had arrived. */
  readonly versionAtSend: number;
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
  /**
   * Serialized entry bytes per message (append, catch-up or resync batch), well below the
   * follower's body limit; one entry larger than this still travels alone.
   */
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

/**
 * - `unknown`: not heard from (yet, or since it restarted): only heartbeats go out, and its
 *   first answer decides how it joins (a delta catch-up or a full resync);
 * - `catch-up`: streaming a frozen state to it, live writes queued alongside;
 * - `replicate`: live writes only;
 * - `probe`: given up on; heartbeats until it answers.
 */
type Mode = 'unknown' | 'catch-up' | 'replicate' | 'probe';

interface QueuedEntry {
  readonly entry: Entry;
  readonly bytes: number;
  /** When its simulated network delay has passed. */
  readonly readyAt: number;
}

interface CatchUp {
  /** The state streamed: frozen when the catch-up started, so later writes cannot move entries past the cursor. */
  readonly snapshot: StoreView;
  /** The follower holds everything up to here already (0 for a full resync). */
  readonly from: number;
  /** Catch-up ends here; versions above it reach the follower live. */
  readonly target: number;
  /** A full resync's number (unique in this leader process), or null for a delta. */
  readonly resync: number | null;
  /** Batches cover (from, cursor]: sent, in flight or acked. */
  cursor: number;
  readyAt: number;
  inFlight: number;
  /** The closing message that makes the follower claim (from, target] is out. */
  doneSent: boolean;
  /** Passes over the state so far; a failed batch starts the next one. */
  round: number;
  /** Where each batch of this round still in flight starts: a failure resumes from the lowest. */
  readonly unacked: Set<number>;
  readonly plan: SyncPlan;
  /**
   * Live entries wait until the first catch-up message is acknowledged (`opened`): for a
   * resync, whose first batch empties the follower's store (sent earlier, the emptying would
   * wipe them); and for a follower of another history (the one this leader recovered),
   * which applies nothing from this leader until a catch-up message invites it to follow.
   */
  readonly holdsLive: boolean;
  /** The first catch-up message was acknowledged: the follower follows this leader now. */
  opened: boolean;
}

/**
 * The leader's view of one follower.
 * Invariant: in modes `replicate` and `catch-up`, every version >= liveFrom is queued, in
 * flight, or acked; versions in (ackedVersion, liveFrom) are covered by the catch-up.
 */
class Progress {
  mode: Mode = 'unknown';
  /** The identity its last answer reported (the follower process); null until then. */
  followerId: string | null = null;
  /** Ids of incarnations that were replaced; late answers from them say nothing about now. */
  readonly retiredIds = new Set<string>();
  /** The follower has every write up to here (as it last told us, in this leader's history). */
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
  /** Writes arrived while it was down: probe at once rather than after the backoff. */
  probeWanted = false;
  /** Halved on every 413: a batch refused as too large is never sent again unchanged. */
  maxBatchBytes: number;
  /** Another URL reaches the same follower process: its answers count there, not here. */
  aliasOf: string | null = null;

  constructor(
    readonly url: string,
    liveFrom: number,
    firstHeartbeatAt: number,
    maxBatchBytes: number,
  ) {
    this.liveFrom = liveFrom;
    this.nextHeartbeatAt = firstHeartbeatAt;
    this.maxBatchBytes = maxBatchBytes;
  }

  get state(): FollowerState {
    if (this.mode === 'probe') return 'down';
    if (this.mode === 'replicate') return 'up';
    return 'catching-up';
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

/** A failure that says the message was too large for the follower (or for the sender's own limit). */
const TOO_LARGE = /HTTP 413|maxBodyLength|larger than/i;

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
  /** Which URL speaks for each follower process (API.md guarantee 6). */
  private readonly ownerOfId = new Map<string, string>();
  private nextMessageId = 1;
  private nextResyncId = 1;

  constructor(
    options: ReplicatorOptions,
    private readonly source: ReplicationSource,
    private readonly listener: AckListener,
    /** This leader's history: an answer naming another one has applied nothing of ours. */
    private readonly history: { readonly epoch: number; readonly leaderId: string },
    /** Decides how a follower joins, from its answer. */
    private readonly plan: (position: ReplicateResponse) => SyncPlan,
    now: number,
  ) {
    this.options = { random: Math.random, ...DEFAULTS, ...options };
    this.progress = options.followers.map((url) => new Progress(url, source.version() + 1, now + this.delay(), this.options.maxBatchBytes));
    for (const p of this.progress) this.progressByUrl.set(p.url, p);
  }

  /** Queues a new write for every follower that takes live writes; a down one is probed at once. */
  append(entry: Entry, bytes: number, now: number): void {
    for (const p of this.progress) {
      if (p.mode === 'probe') {
        // Its failure a moment ago says nothing about now: ask again for this write.
        p.probeWanted = true;
        continue;
      }
      if (p.mode === 'unknown') continue; // its catch-up will cover this write
      if (p.queue.length >= this.options.maxQueuedEntries) {
        this.markDown(p, `fell ${p.queue.length} entries behind; will catch up from state`, now);
        p.probeWanted = true;
        continue;
      }
      insertByReadyAt(p.queue, { entry, bytes, readyAt: now + this.delay() });
    }
  }

  /** Messages due now. Each must be answered with onResponse or onFailure. */
  takeMessages(now: number): OutgoingMessage[] {
    const out: OutgoingMessage[] = [];
    for (const p of this.progress) {
      if (p.mode === 'catch-up' || p.mode === 'replicate') {
        this.takeAppends(p, now, out);
        this.takeCatchUp(p, now, out);
      }
      const probeNow = p.mode === 'probe' && p.probeWanted;
      if (!p.heartbeatInFlight && (now >= p.nextHeartbeatAt || probeNow)) {
        p.heartbeatInFlight = true;
        p.probeWanted = false;
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
      if (!p.heartbeatInFlight) earliest = Math.min(earliest, p.mode === 'probe' && p.probeWanted ? -Infinity : p.nextHeartbeatAt);
      if (p.mode !== 'catch-up' && p.mode !== 'replicate') continue;
      if (p.queue.length > 0 && p.appendsInFlight < this.options.maxAppendsInFlight && !liveHeld(p)) {
        earliest = Math.min(earliest, p.queue[0].readyAt);
      }
      const c = p.catchUp;
      if (c && c.inFlight < this.options.maxCatchUpInFlight && (c.cursor < c.target || (!c.doneSent && c.inFlight === 0))) {
        earliest = Math.min(earliest, c.readyAt);
      }
    }
    return earliest;
  }

  onResponse(message: OutgoingMessage, position: ReplicateResponse, now: number): void {
    const p = this.byUrl(message.follower);
    const current = message.generation === p.generation;
    this.release(p, message);
    if (p.retiredIds.has(position.followerId)) return;
    p.consecutiveFailures = 0;
    p.lastError = null;
    if (!this.claimIdentity(p, position.followerId, message, now)) return;

    const restarted = p.followerId !== null && p.followerId !== position.followerId;
    if (restarted) p.retiredIds.add(p.followerId as string);
    p.followerId = position.followerId;
    const joined = position.leaderEpoch === this.history.epoch && (position.leaderId ?? '') === this.history.leaderId;

    if (joined) {
      p.ackedVersion = restarted ? position.appliedVersion : Math.max(p.ackedVersion, position.appliedVersion);
      this.listener.ackedThrough(p.url, p.ackedVersion);
      // Live entries of the current plan that it applied (it skips none it could lack).
      if (message.kind === 'append' && current && !restarted) {
        this.listener.acked(p.url, message.entries.map((e) => e.version));
      }
    } else {
      p.ackedVersion = 0;
    }

    if (p.mode === 'unknown' || p.mode === 'probe' || restarted || (!joined && !(p.mode === 'catch-up' && current))) {
      this.startSync(p, position, now);
    } else if (message.kind === 'catch-up' && current && p.catchUp) {
      p.catchUp.opened = true;
      if (message.catchUp?.done && message.round === p.catchUp.round) {
        this.listener.syncFinished?.(p.url, p.catchUp.plan, p.catchUp.target);
        p.catchUp = null;
        p.mode = 'replicate';
      }
    }
  }

  onFailure(message: OutgoingMessage, error: string, now: number): void {
    const p = this.byUrl(message.follower);
    const current = message.generation === p.generation;
    const currentRound = current && message.kind === 'catch-up' && p.catchUp !== null && message.round === p.catchUp.round;
    this.release(p, message);
    p.consecutiveFailures++;
    p.lastError = error;
    const backoff = this.backoff(p);
    if (TOO_LARGE.test(error) && message.entries.length > 1) {
      // Never again the same batch: halve the budget until one entry travels alone.
      p.maxBatchBytes = Math.max(1, Math.floor(message.entryBytes.reduce((a, b) => a + b, 0) / 2));
    }

    // Already given up on: this attempt was made for every write that had arrived by then.
    if (p.mode === 'probe') this.listener.failedThrough(p.url, message.versionAtSend);
    if (message.kind === 'append') {
      if (current && p.mode !== 'probe') {
        // Retried after a backoff, without holding back newer entries that are ready sooner.
        // The quorum hears of a failure only if the follower is given up on (markDown).
        message.entries.forEach((entry, i) => {
          insertByReadyAt(p.queue, { entry, bytes: message.entryBytes[i], readyAt: now + backoff + this.delay() });
        });
      }
    } else if (message.kind === 'catch-up' && p.catchUp && currentRound) {
      const c = p.catchUp;
      if (message.catchUp?.done) {
        c.doneSent = false;
      } else {
        // A batch is missing: stream again from the lowest batch not acknowledged (every batch
        // below it is applied; nothing is claimed before `done`). Answers of batches still in
        // flight in this round are ignored: they are sent again.
        c.cursor = Math.min(message.batchAfter ?? c.from, ...c.unacked);
        c.unacked.clear();
        c.round++;
        c.inFlight = 0;
        c.doneSent = false;
      }
      c.readyAt = now + backoff + this.delay();
    } else if (message.kind === 'heartbeat') {
      p.nextHeartbeatAt = now + backoff + this.delay();
    }

    if (p.mode !== 'probe' && p.consecutiveFailures >= this.options.failuresBeforeDown) {
      this.markDown(p, error, now);
      this.listener.failedThrough(p.url, message.versionAtSend);
    }
  }

  /** The lowest version every follower has; tombstones at or below it can be dropped. */
  minAckedVersion(): number {
    return this.progress.reduce((min, p) => (p.aliasOf !== null ? min : Math.min(min, p.ackedVersion)), Infinity);
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

  /** One follower's `ackedVersion` (as in `status`), without building every follower's status. */
  ackedVersionOf(url: string): number {
    return this.byUrl(url).ackedVersion;
  }

  /** How many followers are in a full resync now, and how many answered at all. */
  counts(): { up: number; resyncing: number } {
    let up = 0;
    let resyncing = 0;
    for (const p of this.progress) {
      if (p.mode === 'replicate') up++;
      if (p.catchUp && p.catchUp.resync !== null) resyncing++;
    }
    return { up, resyncing };
  }

  /**
   * Records which URL speaks for a follower process. Another URL already speaking for the
   * same process makes this one an alias: it is given up on and never counted (guarantee 6).
   */
  private claimIdentity(p: Progress, followerId: string, message: OutgoingMessage, now: number): boolean {
    const owner = this.ownerOfId.get(followerId);
    if (owner !== undefined && owner !== p.url) {
      const reason = `same follower as ${owner} (process ${followerId}): counted once, there`;
      if (p.aliasOf !== owner) {
        p.aliasOf = owner;
        p.lastError = reason;
      }
      if (p.mode !== 'probe') this.markDown(p, reason, now);
      p.lastError = reason;
      this.listener.failedThrough(p.url, message.versionAtSend);
      return false;
    }
    if (p.followerId !== null && p.followerId !== followerId && this.ownerOfId.get(p.followerId) === p.url) {
      this.ownerOfId.delete(p.followerId);
    }
    this.ownerOfId.set(followerId, p.url);
    p.aliasOf = null;
    return true;
  }

  /** Decides from its answer how the follower joins, and starts the catch-up (or none). */
  private startSync(p: Progress, position: ReplicateResponse, now: number): void {
    const plan = this.plan(position);
    p.generation++;
    p.queue = [];
    const target = this.source.version();
    p.liveFrom = target + 1;
    const joined = position.leaderEpoch === this.history.epoch && (position.leaderId ?? '') === this.history.leaderId;
    if (plan.kind === 'delta' && joined && plan.from >= target) {
      p.catchUp = null;
      p.mode = 'replicate';
      return;
    }
    const from = plan.kind === 'delta' ? Math.min(plan.from, target) : 0;
    p.mode = 'catch-up';
    p.lastError = plan.kind === 'resync' ? `full resync: ${plan.reason}` : null;
    p.catchUp = {
      snapshot: this.source.frozen(),
      from,
      target,
      resync: plan.kind === 'resync' ? this.nextResyncId++ : null,
      cursor: from,
      readyAt: now + this.delay(),
      inFlight: 0,
      doneSent: false,
      round: 0,
      unacked: new Set(),
      holdsLive: plan.kind === 'resync' || !joined,
      opened: false,
      plan,
    };
    this.listener.syncStarted?.(p.url, plan, target);
  }

  private takeAppends(p: Progress, now: number, out: OutgoingMessage[]): void {
    if (liveHeld(p)) return;
    while (p.appendsInFlight < this.options.maxAppendsInFlight && p.queue.length > 0 && p.queue[0].readyAt <= now) {
      let count = 0;
      let bytes = 0;
      while (
        count < p.queue.length &&
        p.queue[count].readyAt <= now &&
        count < this.options.maxBatchEntries &&
        (count === 0 || bytes + p.queue[count].bytes <= p.maxBatchBytes)
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
    if (!c) return;
    const range = { from: c.from, through: c.target, ...(c.resync !== null ? { resync: c.resync } : {}) };
    while (c.cursor < c.target && c.inFlight < this.options.maxCatchUpInFlight && c.readyAt <= now) {
      const page = c.snapshot.page(c.cursor, c.target, {
        maxEntries: this.options.catchUpBatchEntries,
        maxBytes: p.maxBatchBytes,
        sizeOf: entryWireBytes,
        liveOnly: c.resync !== null,
      });
      out.push({ ...this.message(p, 'catch-up', page.entries, page.entries.map(entryWireBytes), range), batchAfter: c.cursor });
      c.unacked.add(c.cursor);
      c.cursor = page.coveredThrough;
      c.inFlight++;
      c.readyAt = now + this.delay();
    }
    if (c.cursor >= c.target && c.inFlight === 0 && !c.doneSent && c.readyAt <= now) {
      // Every batch is acknowledged: now the follower may claim the whole range.
      c.doneSent = true;
      c.inFlight++;
      out.push(this.message(p, 'catch-up', [], [], { ...range, done: true }));
    }
  }

  private markDown(p: Progress, reason: string, now: number): void {
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
    else if (p.catchUp && message.generation === p.generation && message.round === p.catchUp.round) {
      p.catchUp.inFlight--;
      if (message.batchAfter !== undefined) p.catchUp.unacked.delete(message.batchAfter);
    }
  }

  private message(
    p: Progress,
    kind: MessageKind,
    entries: Entry[],
    entryBytes: number[],
    catchUp?: OutgoingMessage['catchUp'],
  ): OutgoingMessage {
    return {
      id: this.nextMessageId++,
      follower: p.url,
      kind,
      entries,
      entryBytes,
      catchUp,
      generation: p.generation,
      round: p.catchUp?.round ?? 0,
      versionAtSend: this.source.version(),
    };
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

/** Live entries wait for the catch-up's first acknowledged message (CatchUp.holdsLive). */
function liveHeld(p: Progress): boolean {
  return p.catchUp !== null && p.catchUp.holdsLive && !p.catchUp.opened;
}

/** Keeps the queue sorted by readyAt; appends at the end in the common in-order case. */
function insertByReadyAt(queue: QueuedEntry[], item: QueuedEntry): void {
  let i = queue.length;
  while (i > 0 && queue[i - 1].readyAt > item.readyAt) i--;
  queue.splice(i, 0, item);
}
