import BTree from 'sorted-btree';
import { VersionedStore, type Entry, type JsonValue } from '@kv/store';
import { ReplicateRequest, entryWireBytes, type FollowerStatus, type ReplicateResponse, type ReplicatedEntry } from '@kv/protocol';
import { QuorumCounter, type QuorumResult } from '@kv/quorum';
import { OutgoingMessage, Replicator, ReplicatorOptions, type SyncPlan } from './replicator';
import { Clock } from './clock';
import { ReplicationTransport } from './transport';
import { planFollowerSync, type History, type Lineage } from './sync-plan';
import { InSyncTracker } from './in-sync';
import { checkCondition, type WriteCondition } from './write-condition';
import type { TombstoneRetention } from './tombstone-retention';

export interface ReplicationObserver {
  answered?(message: OutgoingMessage, elapsedMs: number): void;
  failed?(message: OutgoingMessage, error: string): void;
  stateChanged?(follower: string, from: FollowerStatus['state'], to: FollowerStatus['state'], lastError: string | null): void;
  /** A follower answered that another leader now leads it: this one stood down. */
  fenced?(reason: string): void;
  /** A follower starts a catch-up or a full resync to `through`, or finished it. */
  syncStarted?(follower: string, plan: SyncPlan, through: number): void;
  syncFinished?(follower: string, plan: SyncPlan, through: number): void;
}

/** What the leader persists with every change: enough to restart without reusing a version. */
export interface LeaderMeta {
  /** The epoch this leader process took: a counter above every epoch it saw (never a clock). */
  readonly epoch: number;
  /** The leader process's id: with the epoch, names the history followers follow. */
  readonly leaderId: string;
  /** No version up to here may be assigned again: a restart continues above it. */
  readonly reservedVersion: number;
  /** The store's tombstone horizon, which a snapshot of the store alone would not tell. */
  readonly droppedThrough?: number;
  /**
   * The store in DATA_DIR is being replaced by a recovery and is not this leader's state:
   * a restart must not offer it as a history of its own.
   */
  readonly recovering?: boolean;
}

/**
 * Makes the leader's changes durable (its DATA_DIR journal). Calls come in the order the
 * changes were made to the store; each resolves once that change is durable.
 */
export interface LeaderJournal {
  commit(change: { clear?: boolean; apply?: readonly Entry[]; dropTombstonesThrough?: number; meta: LeaderMeta }): Promise<void>;
}

/** Versions reserved per journal write, so most writes need no extra bookkeeping. */
export const VERSION_RESERVATION_BLOCK = 10_000;

export interface ReplicationLeaderOptions {
  readonly store: VersionedStore;
  /** Identifies this leader's history: its epoch, and its process id (random per start). */
  readonly epoch: number;
  readonly leaderId?: string;
  /** The history it took over at start (recovery), so followers of it can join with a delta. */
  readonly lineage?: Lineage | null;
  readonly replication: Omit<ReplicatorOptions, 'followers'>;
  readonly followers: readonly string[];
  readonly replicationTimeoutMs: number;
  readonly transport: ReplicationTransport;
  readonly clock: Clock;
  /**
   * Runs a callback once the I/O callbacks of this turn of the event loop have run (default
   * `setImmediate`): sends are gathered there, so the writes and acks that arrive together
   * leave as one frame per follower (see `schedulePump`).
   */
  readonly afterIo?: (callback: () => void) => void;
  readonly observer?: ReplicationObserver;
  /** Without one, the leader keeps everything in memory only. */
  readonly journal?: LeaderJournal;
  /** The reservation the journal held at start (0 for a new data directory). */
  readonly reservedVersion?: number;
  /** A change could not be made durable: the leader's memory is now ahead of its disk. */
  readonly onJournalFailure?: (error: unknown) => void;
  /** MIN_FOLLOWERS_MAX_LAG_MS: the window of `inSyncCount()` (default 10000). */
  readonly inSyncMaxLagMs?: number;
  /**
   * When given, tombstones younger than its retention are kept even once every follower
   * holds them (API.md, "Watch": deletes of the last 60 s stay tellable). Without one,
   * tombstones go as soon as every follower holds them.
   */
  readonly tombstoneRetention?: TombstoneRetention;
}

/** MIN_FOLLOWERS_MAX_LAG_MS's default (API.md, Configuration). */
export const DEFAULT_IN_SYNC_MAX_LAG_MS = 10_000;

/** A write the leader has applied; `quorum` settles when enough followers acked it (or not). */
export interface WriteTicket {
  readonly entry: Entry;
  readonly quorum: Promise<QuorumResult>;
}

/** A follower answered 409 STALE_LEADER: another leader took it over (transport errors carry this code). */
const isStaleLeader = (error: unknown): boolean => (error as { code?: unknown } | null)?.code === 'STALE_LEADER';

/**
 * The leader's write path: assigns versions, applies to its store, hands entries to the
 * Replicator, counts each write's acks, and pumps messages through the transport.
 * All I/O goes through the injected transport and clock.
 */
export class ReplicationLeader {
  readonly store: VersionedStore;
  readonly history: History;
  private readonly replicator: Replicator;
  /** Quorum counters of writes still waiting, by version (so a follower's watermark acks a range at once). */
  private readonly pending = new BTree<number, QuorumCounter>();
  private wake: { at: number; timer: { cancel(): void } } | null = null;
  private stopped = false;
  /** A pump is scheduled for the end of this event-loop turn (schedulePump). */
  private pumpScheduled = false;
  private fencedBy: string | null = null;
  private lastStates: FollowerStatus['state'][];
  private reservedVersion: number;
  /**
   * The highest version reserved by a journal record already durable. A write up to it is
   * sent to followers while the leader's journal writes it; a version above it could be
   * assigned again after a crash, so it goes out only once the record reserving it is durable.
   */
  private durableReservation: number;
  /** Writes waiting for their reservation to be durable: while any waits, later writes wait too (followers get versions in order). */
  private heldForReservation = 0;
  /** The highest version handed to the replicator. */
  private replicatedVersion: number;
  private readonly inSync: InSyncTracker;

  constructor(private readonly options: ReplicationLeaderOptions) {
    this.store = options.store;
    this.history = { epoch: options.epoch, leaderId: options.leaderId ?? '' };
    this.reservedVersion = options.reservedVersion ?? 0;
    this.durableReservation = this.reservedVersion;
    // Continue above every version a previous run may have assigned, durable or not.
    this.store.noteVersion(this.reservedVersion);
    this.replicatedVersion = this.store.maxVersion;
    const lineage = options.lineage ?? null;
    const maxLagMs = options.inSyncMaxLagMs ?? DEFAULT_IN_SYNC_MAX_LAG_MS;
    this.inSync = new InSyncTracker({ maxLagMs, followers: options.followers }, options.clock.now(), this.store.maxVersion);
    this.replicator = new Replicator(
      { ...options.replication, followers: options.followers },
      { version: () => this.replicatedVersion, frozen: () => this.store.freeze() },
      {
        acked: (follower, versions) => versions.forEach((v) => this.pending.get(v)?.ack(follower)),
        ackedThrough: (follower, through) => this.forPendingThrough(through, (counter) => counter.ack(follower)),
        failedThrough: (follower, through) => this.forPendingThrough(through, (counter) => counter.fail(follower)),
        syncStarted: (follower, plan, through) => options.observer?.syncStarted?.(follower, plan, through),
        syncFinished: (follower, plan, through) => options.observer?.syncFinished?.(follower, plan, through),
      },
      this.history,
      (position: ReplicateResponse) =>
        planFollowerSync(position, {
          history: this.history,
          version: this.replicatedVersion,
          tombstoneHorizon: this.store.tombstoneHorizon,
          lineage,
        }),
      options.clock.now(),
    );
    this.lastStates = this.status().map((s) => s.state);
    this.pump();
  }

  get version(): number {
    return this.store.maxVersion;
  }

  get epoch(): number {
    return this.options.epoch;
  }

  /** The metadata a journal write records now. */
  get meta(): LeaderMeta {
    return {
      epoch: this.options.epoch,
      leaderId: this.history.leaderId,
      reservedVersion: this.reservedVersion,
      droppedThrough: this.store.tombstoneHorizon,
    };
  }

  get followerCount(): number {
    return this.options.followers.length;
  }

  /** Why this leader stood down (another leader took its followers over), or null while it leads. */
  get fenced(): string | null {
    return this.fencedBy;
  }

  /** Followers that are up now (replicating live), and how many are in a full resync. */
  get followerCounts(): { up: number; resyncing: number } {
    return this.replicator.counts();
  }

  /** Records the epoch and reservation before anything else (a new data directory, or a recovery). */
  persistMeta(): Promise<void> {
    return this.options.journal?.commit({ meta: this.meta }) ?? Promise.resolve();
  }

  /**
   * Applies a PUT and starts replicating it. With a `condition`, throws VersionMismatchError
   * (nothing applied, no version used) unless it holds.
   */
  put(key: string, value: JsonValue, quorum: number, condition?: WriteCondition): WriteTicket {
    checkCondition(this.store, key, condition);
    return this.write({ key, version: this.store.maxVersion + 1, deleted: false, value }, quorum);
  }

  /**
   * Applies a DELETE, or returns null when the key is absent. A `condition` is checked first
   * (VersionMismatchError, version 0 for an absent key); `ifVersion: 0` on an absent key passes
   * the check and still returns null (the HTTP route refuses it before).
   */
  remove(key: string, quorum: number, condition?: WriteCondition): WriteTicket | null {
    checkCondition(this.store, key, condition);
    if (this.store.get(key) === undefined) return null;
    return this.write({ key, version: this.store.maxVersion + 1, deleted: true }, quorum);
  }

  /** Followers in sync now: answered within MIN_FOLLOWERS_MAX_LAG_MS and holding every older write (in-sync.ts). */
  inSyncCount(): number {
    return this.inSync.inSync(this.options.clock.now());
  }

  /** Per follower; `lag` counts from the leader's version (API.md), writes still being made durable included. */
  status(): FollowerStatus[] {
    return this.replicator.status(this.version);
  }

  /** Stops sending; writes still waiting settle at their deadline. */
  stop(): void {
    this.stopped = true;
    this.wake?.timer.cancel();
    this.wake = null;
  }

  private write(entry: Entry, quorum: number): WriteTicket {
    this.store.apply(entry);
    this.inSync.wrote(entry.version, this.options.clock.now());
    this.options.tombstoneRetention?.note(entry.version, this.options.clock.now());
    const counter = new QuorumCounter({
      needed: quorum,
      voters: this.options.followers.length,
      timeoutMs: this.options.replicationTimeoutMs,
      setTimer: this.options.clock.setTimer,
    });
    if (!counter.isSettled) {
      this.pending.set(entry.version, counter);
      void counter.result.then(() => this.pending.delete(entry.version));
    }
    const bytes = entryWireBytes(entry);
    const replicate = () => {
      if (entry.version > this.replicatedVersion) this.replicatedVersion = entry.version;
      this.replicator.append(entry, bytes, this.options.clock.now());
      this.schedulePump();
    };
    const journal = this.options.journal;
    if (!journal) {
      replicate();
      return { entry, quorum: counter.result };
    }
    // Reserve the next block half a block early, so writes rarely wait for a reservation.
    if (entry.version > this.reservedVersion - VERSION_RESERVATION_BLOCK / 2) this.reservedVersion = entry.version + VERSION_RESERVATION_BLOCK;
    const reservation = this.reservedVersion;
    const durable = journal.commit({ apply: [entry], meta: this.meta });
    const reserved = durable.then(() => {
      this.durableReservation = Math.max(this.durableReservation, reservation);
    });
    reserved.catch((error: unknown) => this.journalFailed(error));
    if (this.heldForReservation === 0 && entry.version <= this.durableReservation) {
      // Sent while the journal writes it, as a Raft leader appends to its log in parallel
      // with replicating it (Raft thesis, 10.2.1): the write costs one fdatasync's time, not
      // the leader's and then a follower's. Should the leader crash before its record is
      // durable, the write was never answered, its version is never reused (it is within a
      // durable reservation), and a follower holding it hands it to the recovery.
      replicate();
    } else {
      this.heldForReservation++;
      reserved.then(
        () => {
          this.heldForReservation--;
          replicate();
        },
        () => undefined,
      );
    }
    // The answer waits for local durability as well as for the quorum.
    return { entry, quorum: durable.then(() => counter.result) };
  }

  /** Runs `visit` on the counter of every pending write with a version up to `through`. */
  private forPendingThrough(through: number, visit: (counter: QuorumCounter) => void): void {
    // Collected first: a visit may settle a counter, which deletes it from `pending`.
    const due: QuorumCounter[] = [];
    this.pending.forRange(0, through, true, (_version, counter) => {
      due.push(counter);
    });
    due.forEach(visit);
  }

  /** Forgets tombstones every follower holds and older than the retention, on disk too. */
  private compactTombstones(): void {
    const retained = this.options.tombstoneRetention?.dropLimit(this.options.clock.now()) ?? Infinity;
    const through = Math.min(this.replicator.minAckedVersion(), retained);
    if (!Number.isFinite(through) || this.store.dropTombstonesThrough(through) === 0) return;
    this.options.journal
      ?.commit({ dropTombstonesThrough: through, meta: this.meta })
      .catch((error: unknown) => this.journalFailed(error));
  }

  /**
   * The journal failed: the leader's memory is ahead of its disk. It stops sending at once
   * (a later write sent early would sit on followers above a record the disk lacks; one held
   * for its reservation would never go), and tells `onJournalFailure`, which stops the node.
   * No write waiting then is answered 200: a write whose record failed gets its error, the
   * rest time out.
   */
  private journalFailed(error: unknown): void {
    this.stop();
    this.options.onJournalFailure?.(error);
  }

  /** Another leader leads the followers now: stop, and refuse writes until restarted. */
  private fence(reason: string): void {
    if (this.fencedBy !== null) return;
    this.fencedBy = reason;
    this.stop();
    this.options.observer?.fenced?.(reason);
  }

  /**
   * Pumps once the I/O callbacks of this turn of the event loop have run, however many writes
   * and acks asked for it meanwhile. Pumped at once, the first write of a burst of client
   * requests left alone in a one-entry frame and the rest of the burst waited a round trip
   * for its ack (one append in flight per follower); gathered, they leave as one frame
   * (entries per frame 15-18 -> 22-26 at 64 writers, README, "Against etcd", third round;
   * a frame costs a follower several times an entry, though less of it is the wake-up than
   * that round thought: fourth round). The wait is the rest of one event-loop turn, not a
   * timer: a write that arrives alone is sent within the same turn.
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    (this.options.afterIo ?? setImmediate)(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /**
   * Sends what is due and re-arms the wake timer. `dueAt` (ms): the deadline of the timer
   * that called it. A timer that fires has reached its deadline by the event loop's clock,
   * which can run a fraction of a millisecond behind `performance.now()`'s; judged by the
   * latter, the messages would look not yet due and wait for one more (1 ms minimum) timer.
   */
  private pump(dueAt = -Infinity): void {
    if (this.stopped) return;
    const now = Math.max(this.options.clock.now(), dueAt);
    for (const message of this.replicator.takeMessages(now)) this.send(message, now);
    this.noteStateChanges();
    this.scheduleWake();
  }

  private send(message: OutgoingMessage, sentAt: number): void {
    const request = Object.assign(new ReplicateRequest(), {
      leaderEpoch: this.options.epoch,
      ...(this.history.leaderId ? { leaderId: this.history.leaderId } : {}),
      leaderVersion: this.replicatedVersion,
      droppedThrough: this.store.tombstoneHorizon,
      entries: message.entries as ReplicatedEntry[],
      ...(message.catchUp ? { catchUp: message.catchUp } : {}),
    });
    this.options.transport.send(message.follower, request).then(
      (response) => {
        if (this.stopped) return;
        const now = this.options.clock.now();
        this.options.observer?.answered?.(message, now - sentAt);
        this.replicator.onResponse(message, response, now);
        this.inSync.answered(message.follower, this.replicator.ackedVersionOf(message.follower), now);
        this.compactTombstones();
        this.schedulePump();
      },
      (error: unknown) => {
        if (this.stopped) return;
        const reason = error instanceof Error ? error.message : String(error);
        this.options.observer?.failed?.(message, reason);
        if (isStaleLeader(error)) {
          this.fence(`${message.follower} follows another leader: ${reason}`);
          return;
        }
        this.replicator.onFailure(message, reason, this.options.clock.now());
        this.schedulePump();
      },
    );
  }

  private scheduleWake(): void {
    const at = this.replicator.nextWakeAt();
    if (this.wake && this.wake.at <= at) return;
    this.wake?.timer.cancel();
    this.wake = null;
    if (at === Infinity) return;
    const delay = Math.max(0, at - this.options.clock.now());
    this.wake = {
      at,
      timer: this.options.clock.setTimer(() => {
        this.wake = null;
        this.pump(at);
      }, delay),
    };
  }

  private noteStateChanges(): void {
    const observer = this.options.observer?.stateChanged;
    if (!observer) return;
    this.status().forEach((s, i) => {
      if (s.state !== this.lastStates[i]) observer(s.url, this.lastStates[i], s.state, s.lastError);
      this.lastStates[i] = s.state;
    });
  }
}
