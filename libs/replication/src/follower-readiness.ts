/** A follower's answer to `/readyz` (API.md, Probes). */
export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/**
 * Whether a follower is ready to serve reads (API.md, Probes): it follows a leader (heard
 * from it within `maxLagMs`), is not in a full resync, and was caught up — its applied
 * version at or above the version the leader had when it sent a request — within `maxLagMs`
 * (MIN_FOLLOWERS_MAX_LAG_MS, the same window a leader's in-sync count uses). Times are ms of
 * an injected clock. Plain state, no I/O: the replication route reports, the probe asks.
 */
export class FollowerReadiness {
  private heardAt: number | null = null;
  private caughtUpAt: number | null = null;
  private lastLag = 0;

  constructor(private readonly maxLagMs: number) {}

  /**
   * A replication request was applied (and made durable). `leaderVersion` is the leader's
   * version when it sent the request (absent from an old leader: then only hearing counts).
   */
  heard(now: number, appliedVersion: number, leaderVersion: number | undefined): void {
    this.heardAt = now;
    this.lastLag = leaderVersion === undefined ? 0 : Math.max(0, leaderVersion - appliedVersion);
    if (this.lastLag === 0) this.caughtUpAt = now;
  }

  /** The probe's verdict at `now`; `resyncing` while a full resync empties and refills the store. */
  check(now: number, resyncing: boolean): Readiness {
    if (this.heardAt === null) return { ready: false, reason: 'has not heard from a leader since it started' };
    if (now - this.heardAt > this.maxLagMs) return { ready: false, reason: `has not heard from its leader for ${Math.round(now - this.heardAt)} ms` };
    if (resyncing) return { ready: false, reason: 'full resync in progress: it holds only part of the leader\'s state' };
    if (this.caughtUpAt === null || now - this.caughtUpAt > this.maxLagMs) {
      return { ready: false, reason: `catching up: ${this.lastLag} versions behind its leader` };
    }
    return { ready: true };
  }
}
