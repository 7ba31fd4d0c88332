import { VersionedStore, type Entry } from '@kv/store';
import { MAX_REPORTED_RANGES, ReplicateRequest, ReplicateResponse, toStoreEntry } from '@kv/protocol';
import { VersionCoverage } from './version-coverage';
import { StaleLeaderError } from './errors';
import type { TombstoneRetention } from './tombstone-retention';

/** Keeps tombstones younger than its retention (API.md, "Watch"), on the follower's clock. */
export interface FollowerRetention {
  readonly retention: TombstoneRetention;
  /** ms, monotonic. */
  readonly now: () => number;
}

/** What a follower persists with every change; a restart resumes from it. */
export interface FollowerMeta {
  /** The history it follows: the leader's epoch (a counter) and the leader process's id ('' before any). */
  readonly leaderEpoch: number;
  readonly leaderId?: string;
  readonly appliedVersion: number;
  /** Versions held above `appliedVersion`, so a restart reports exactly what it holds. */
  readonly ranges?: ReadonlyArray<readonly [number, number]>;
  /** The last full resync started from this leader; `active` while it runs. */
  readonly resync?: ResyncMark;
  /** The store's tombstone horizon, which a snapshot of the store alone would not tell. */
  readonly droppedThrough?: number;
  /** The highest epoch any leader has spoken with: older ones are refused from then on. */
  readonly promisedEpoch?: number;
  /** The highest version any leader said it had assigned: a recovering leader continues above it. */
  readonly seenVersion?: number;
}

/** A full resync: its number (per leader), its range's end, and whether it is still running. */
export interface ResyncMark {
  readonly id: number;
  readonly through: number;
  readonly active: boolean;
}

/** One request's effect: the answer, and the change to make durable before sending it. */
export interface ReceiveResult {
  readonly response: ReplicateResponse;
  /** The follower now follows another history (kept its data, or emptied for a resync). */
  readonly adoptedNewEpoch: boolean;
  readonly change: {
    readonly clear?: boolean;
    readonly apply: readonly Entry[];
    readonly dropTombstonesThrough: number;
    readonly meta: FollowerMeta;
  };
}

/**
 * A follower's side of replication, without I/O: applies what the leader sends and
 * answers with how far it has everything and which history it follows.
 *
 * Rules (API.md guarantees 2, 3, 5, 7):
 * - A request from an older epoch, or from another leader of the same epoch, is refused
 *   (StaleLeaderError), changing nothing.
 * - A newer leader is adopted only when it says how: a catch-up (it checked that its history
 *   extends what this follower holds: keep everything) or a full resync (empty the store,
 *   then receive its state). An empty follower adopts it on any request. Anything else from
 *   a newer leader applies nothing and is answered with this follower's position, so the
 *   leader can decide: a follower never drops data because a leader restarted.
 * - Entries at or below the watermark are ignored: every write up to it is here or
 *   superseded. A catch-up claims its range only with `done`, once every batch is here.
 * - Tombstones go once the leader says every follower holds them (`droppedThrough`), never
 *   above this follower's own watermark, nor (with a retention) while younger than 60 s.
 */
export class FollowerReplica {
  private epoch: number;
  /**
   * The highest epoch heard of, joined or not (Raft's term rule): once a newer leader has
   * asked, a late message of the older one (a duplicate, a paused process) could change what
   * this follower told the newer one it holds, so it is refused.
   */
  private promised: number;
  private seen: number;
  private leaderId: string;
  private readonly coverage = new VersionCoverage();
  /** The last resync of this leader; while active, live entries at or below `through` are older than what it brings. */
  private resync: ResyncMark | null;

  constructor(
    private readonly store: VersionedStore,
    /** New on every start: tells the leader this process may have lost what it held. */
    readonly followerId: string,
    restored: FollowerMeta = { leaderEpoch: 0, appliedVersion: 0 },
    /** Without it, tombstones go as soon as the leader says every follower holds them. */
    private readonly retention?: FollowerRetention,
  ) {
    this.epoch = restored.leaderEpoch;
    this.promised = Math.max(restored.promisedEpoch ?? 0, restored.leaderEpoch);
    this.seen = restored.seenVersion ?? 0;
    this.leaderId = restored.leaderId ?? '';
    this.coverage.reset(restored.appliedVersion);
    for (const [from, through] of restored.ranges ?? []) this.coverage.add(from, through);
    this.resync = restored.resync ?? null;
    store.noteTombstoneHorizon(restored.droppedThrough ?? 0);
  }

  get appliedVersion(): number {
    return this.coverage.watermark;
  }

  get leaderEpoch(): number {
    return this.epoch;
  }

  /** Whether a full resync is under way (the store holds only part of the leader's state). */
  get resyncing(): boolean {
    return this.resync?.active === true;
  }

  /**
   * Applies one request to the store. Throws StaleLeaderError, changing nothing, when it
   * comes from an older epoch or another leader of this epoch. The answer may be sent once
   * `change` is durable.
   */
  receive(request: ReplicateRequest): ReceiveResult {
    const leaderId = request.leaderId ?? '';
    if (request.leaderEpoch < this.promised) throw new StaleLeaderError(request.leaderEpoch, this.promised);
    this.promised = request.leaderEpoch;
    if (request.leaderVersion !== undefined && request.leaderVersion > this.seen) this.seen = request.leaderVersion;
    if (request.leaderEpoch === this.epoch && leaderId !== this.leaderId && this.leaderId !== '' && leaderId !== '') {
      throw new StaleLeaderError(request.leaderEpoch, this.epoch, `epoch ${this.epoch} belongs to another leader (${this.leaderId})`);
    }
    const newLeader = request.leaderEpoch !== this.epoch || leaderId !== this.leaderId;
    const catchUp = request.catchUp;
    let clear = false;
    if (newLeader) {
      const invited = catchUp !== undefined;
      if (!invited && !this.isEmpty()) return this.unchanged();
      this.epoch = request.leaderEpoch;
      this.leaderId = leaderId;
      this.resync = null;
    }
    if (catchUp?.resync !== undefined && catchUp.resync !== this.resync?.id) {
      // A resync not seen before: its state replaces everything held (the leader sends no
      // live entry before this first batch is acknowledged). A late duplicate of a finished
      // one has the same number and empties nothing.
      this.store.clear();
      // A resync carries live keys only: no delete at or below its end can be told here.
      this.store.noteTombstoneHorizon(catchUp.through);
      this.coverage.reset();
      this.resync = { id: catchUp.resync, through: catchUp.through, active: true };
      clear = true;
    }

    const applied: Entry[] = [];
    const floor = this.coverage.watermark;
    const staleLiveThrough = catchUp === undefined && this.resync?.active ? this.resync.through : 0;
    for (const replicated of request.entries) {
      if (replicated.version <= floor || replicated.version <= staleLiveThrough) continue;
      const entry = toStoreEntry(replicated);
      if (this.store.apply(entry)) applied.push(entry);
    }
    if (catchUp === undefined) {
      for (const entry of request.entries) {
        if (entry.version > staleLiveThrough) this.coverage.add(entry.version, entry.version);
      }
    } else if (catchUp.done) {
      this.coverage.add(catchUp.from + 1, catchUp.through);
      if (this.resync?.active && this.coverage.watermark >= this.resync.through) this.resync = { ...this.resync, active: false };
    }
    let dropThrough = Math.min(request.droppedThrough ?? 0, this.coverage.watermark);
    if (this.retention) {
      const now = this.retention.now();
      this.retention.retention.note(this.coverage.watermark, now);
      dropThrough = Math.min(dropThrough, this.retention.retention.dropLimit(now));
    }
    if (dropThrough > 0) this.store.dropTombstonesThrough(dropThrough);
    return {
      response: this.position(),
      adoptedNewEpoch: newLeader,
      change: {
        ...(clear ? { clear: true } : {}),
        apply: applied,
        dropTombstonesThrough: dropThrough,
        meta: this.meta(),
      },
    };
  }

  /** Where this follower stands: its history, what it holds, its tombstone horizon. */
  position(): ReplicateResponse {
    return Object.assign(new ReplicateResponse(), {
      followerId: this.followerId,
      leaderEpoch: this.epoch,
      leaderId: this.leaderId,
      appliedVersion: this.coverage.watermark,
      ranges: reportedRanges(this.coverage.gaps),
      droppedThrough: this.store.tombstoneHorizon,
      seenVersion: this.seen,
    });
  }

  /** What a restart needs to report exactly this position. */
  meta(): FollowerMeta {
    return {
      leaderEpoch: this.epoch,
      leaderId: this.leaderId,
      appliedVersion: this.coverage.watermark,
      ...(this.coverage.gaps.length > 0 ? { ranges: this.coverage.gaps.map(([a, b]) => [a, b] as const) } : {}),
      ...(this.resync !== null ? { resync: this.resync } : {}),
      ...(this.store.tombstoneHorizon > 0 ? { droppedThrough: this.store.tombstoneHorizon } : {}),
      promisedEpoch: this.promised,
      seenVersion: this.seen,
    };
  }

  private isEmpty(): boolean {
    return this.coverage.watermark === 0 && this.coverage.gaps.length === 0 && this.store.maxVersion === 0;
  }

  /** A newer leader that has not said how to join: apply nothing, tell it where we stand. */
  private unchanged(): ReceiveResult {
    return {
      response: this.position(),
      adoptedNewEpoch: false,
      change: { apply: [], dropTombstonesThrough: 0, meta: this.meta() },
    };
  }
}

/**
 * The ranges held above the watermark as reported: past MAX_REPORTED_RANGES they are
 * merged into one range spanning them all, which claims more than is held. That only ever
 * makes a leader judge the history unprovable (a full resync), never provable by mistake.
 */
function reportedRanges(gaps: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  if (gaps.length <= MAX_REPORTED_RANGES) return gaps.map(([from, through]) => [from, through]);
  return [[gaps[0][0], gaps[gaps.length - 1][1]]];
}
