import { KvError, type ReadyVerdict } from '@kv/node-kit';
import type { FollowerStatus } from '@kv/protocol';
import type { RecoveryProgress, ReplicationLeader } from '@kv/replication';

export type LeaderState = 'recovering' | 'serving' | 'fenced';

/**
 * The leader as the routes see it: recovering at start (API.md guarantee 7: nothing is
 * served from a half-recovered state), then serving, or fenced once another leader took its
 * followers over. Requests wait for it to serve, up to a deadline.
 */
export class LeaderService {
  private current: ReplicationLeader | null = null;
  private progress: RecoveryProgress | null = null;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly followerCount: number,
    /** How long a request waits for the recovery (REPLICATION_TIMEOUT_MS). */
    private readonly waitMs: number,
  ) {}

  /** A service that serves at once (tests, and a leader without followers). */
  static serving(leader: ReplicationLeader, waitMs = 0): LeaderService {
    const service = new LeaderService(leader.followerCount, waitMs);
    service.serve(leader);
    return service;
  }

  get state(): LeaderState {
    if (this.current === null) return 'recovering';
    return this.current.fenced === null ? 'serving' : 'fenced';
  }

  get leader(): ReplicationLeader | null {
    return this.current;
  }

  /** How far the start-up recovery is, while it runs; null once the leader serves (it showed its last report, `phase: 'asking'`, for ever). */
  get recovery(): RecoveryProgress | null {
    return this.current === null ? this.progress : null;
  }

  /**
   * The followers as /status shows them: the replicating leader's view once it serves;
   * while it recovers, each follower `catching-up` once it answered, else `down` with why.
   */
  followerStatus(followers: readonly string[]): FollowerStatus[] {
    if (this.current) return this.current.status();
    const errors = this.progress?.errors ?? {};
    return followers.map((url) => ({
      url,
      ackedVersion: 0,
      lag: 0,
      state: this.progress === null || url in errors ? 'down' : 'catching-up',
      lastError: errors[url] ?? null,
    }));
  }

  reportProgress(progress: RecoveryProgress): void {
    this.progress = progress;
  }

  /** The recovery is done: requests that waited go on. */
  serve(leader: ReplicationLeader): void {
    this.current = leader;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /**
   * `/readyz` (API.md, Probes): ready when it can serve writes with its configured quorum —
   * recovered, not stood down, and at least `writeQuorum` followers up.
   */
  readiness(writeQuorum: number): ReadyVerdict {
    const leader = this.current;
    if (leader === null || leader.fenced !== null) return { ready: false, reason: this.unavailableReason() };
    const { up } = leader.followerCounts;
    const details = { followersUp: up, writeQuorum };
    if (up < writeQuorum) return { ready: false, reason: `${up} followers up, fewer than the write quorum ${writeQuorum}`, details };
    return { ready: true, details };
  }

  /** Why this leader cannot serve now, in words for a 503 and /readyz. */
  unavailableReason(): string {
    if (this.current?.fenced) return `this leader stood down: ${this.current.fenced}; restart it to lead again`;
    const p = this.progress;
    if (p === null) return 'recovering: starting';
    const firstError = Object.entries(p.errors)[0];
    const why = firstError ? ` (${firstError[0]}: ${firstError[1]})` : '';
    return p.phase === 'asking'
      ? `recovering: heard from ${p.answered} of ${p.followers} followers, needs ${p.required} before it takes a write${why}`
      : `recovering: copying the newest state from its followers (heard from ${p.answered} of ${p.followers})`;
  }

  /**
   * The leader once it serves; waits for the recovery up to the deadline. Throws KvError
   * UNAVAILABLE naming the reason when it does not serve by then, or stood down.
   */
  async whenServing(): Promise<ReplicationLeader> {
    if (this.current === null && this.waitMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.waitMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.add(done);
      });
    }
    const leader = this.current;
    if (leader === null || leader.fenced !== null) throw new KvError('UNAVAILABLE', this.unavailableReason());
    return leader;
  }
}
