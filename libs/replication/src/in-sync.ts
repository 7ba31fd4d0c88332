/**
 * Which followers are in sync, for `MIN_FOLLOWERS_TO_WRITE` (API.md, "Refusing writes before
 * applying them"; Redis' `min-replicas-to-write` / `min-replicas-max-lag`): a follower is in
 * sync at time `now` when it answered the leader within the last `maxLagMs` AND holds every
 * write older than `maxLagMs` (its acked version is at least the highest version the leader
 * assigned before `now - maxLagMs`). Heartbeats are answers, so an idle follower stays in sync.
 *
 * Pure bookkeeping: times are the caller's clock (ms), nothing here reads a clock or does I/O.
 * Memory is bounded: writes are kept in at most about 100 time buckets of `maxLagMs / 100` ms
 * each; a bucket counts as written at its newest write, so a write may be treated as up to one
 * bucket (1% of `maxLagMs`) younger than it is: lenient by that much, never stricter.
 */
export interface InSyncOptions {
  /** A follower's answer and the writes it must hold are judged against this window (ms, > 0). */
  readonly maxLagMs: number;
  readonly followers: readonly string[];
}

interface WriteBucket {
  /** Time of the first write folded in: the bucket closes `resolutionMs` after it. */
  readonly openedAt: number;
  /** Time of the newest write folded in; the bucket counts as written then. */
  at: number;
  /** The highest version folded in. */
  version: number;
}

interface FollowerView {
  /** When it last answered a replication request (any kind); -Infinity before its first answer. */
  answeredAt: number;
  /** It holds every write up to here, as it last told the leader. */
  ackedVersion: number;
}

/** Buckets per window: bounds memory at about this many entries, whatever the write rate. */
const BUCKETS_PER_WINDOW = 100;

export class InSyncTracker {
  private readonly maxLagMs: number;
  private readonly resolutionMs: number;
  /** Writes newer than the window's start, oldest first. */
  private readonly recent: WriteBucket[] = [];
  /** Every write up to this version is older than the window: an in-sync follower holds it. */
  private requiredVersion = 0;
  private readonly followers = new Map<string, FollowerView>();

  /**
   * `version`: the leader's version at `now` (writes restored from its DATA_DIR count as
   * written at start, since their time is unknown).
   */
  constructor(options: InSyncOptions, now: number, version: number) {
    if (!(options.maxLagMs > 0)) throw new RangeError(`maxLagMs must be positive (got ${options.maxLagMs})`);
    this.maxLagMs = options.maxLagMs;
    this.resolutionMs = Math.max(1, options.maxLagMs / BUCKETS_PER_WINDOW);
    for (const url of options.followers) this.followers.set(url, { answeredAt: -Infinity, ackedVersion: 0 });
    if (version > 0) this.wrote(version, now);
  }

  /** The leader assigned `version` at `now`. Calls come in version order, times never decreasing. */
  wrote(version: number, now: number): void {
    const last = this.recent.at(-1);
    if (last && now - last.openedAt < this.resolutionMs) {
      last.at = now;
      last.version = Math.max(last.version, version);
    } else {
      this.recent.push({ openedAt: now, at: now, version });
    }
    this.expire(now);
  }

  /** `follower` answered at `now`, and holds every write up to `ackedVersion`. Unknown followers are ignored. */
  answered(follower: string, ackedVersion: number, now: number): void {
    const view = this.followers.get(follower);
    if (!view) return;
    view.answeredAt = Math.max(view.answeredAt, now);
    view.ackedVersion = ackedVersion;
  }

  /** The version an in-sync follower must hold at `now`: the highest one older than the window. */
  requiredAt(now: number): number {
    this.expire(now);
    return this.requiredVersion;
  }

  /** How many followers are in sync at `now` (see the class comment). */
  inSync(now: number): number {
    const required = this.requiredAt(now);
    let count = 0;
    for (const view of this.followers.values()) {
      if (now - view.answeredAt <= this.maxLagMs && view.ackedVersion >= required) count++;
    }
    return count;
  }

  /** Buckets held now; for tests of the memory bound. */
  get bucketCount(): number {
    return this.recent.length;
  }

  /** Moves writes older than the window (written before `now - maxLagMs`) into `requiredVersion`. */
  private expire(now: number): void {
    const windowStart = now - this.maxLagMs;
    let dropped = 0;
    while (dropped < this.recent.length && this.recent[dropped].at < windowStart) {
      this.requiredVersion = Math.max(this.requiredVersion, this.recent[dropped].version);
      dropped++;
    }
    if (dropped > 0) this.recent.splice(0, dropped);
  }
}
