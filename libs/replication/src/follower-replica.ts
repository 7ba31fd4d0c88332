import { VersionedStore } from '@kv/store';
import { ReplicateRequest, ReplicateResponse, toStoreEntry } from '@kv/protocol';
import { VersionCoverage } from './version-coverage';
import { StaleLeaderError } from './errors';

/**
 * A follower's side of replication, without I/O: applies what the leader sends and
 * answers with how far it has everything.
 *
 * Entries at or below the watermark are ignored: every write up to the watermark is
 * already here or superseded by a newer one. That is also why tombstones at or below the
 * watermark can be dropped: nothing older can be applied over them any more.
 */
export class FollowerReplica {
  private epoch: number;
  private readonly coverage = new VersionCoverage();

  constructor(
    private readonly store: VersionedStore,
    /** New on every start: tells the leader this process may have lost what it held. */
    readonly followerId: string,
    restored: { leaderEpoch: number; appliedVersion: number } = { leaderEpoch: 0, appliedVersion: 0 },
  ) {
    this.epoch = restored.leaderEpoch;
    this.coverage.reset(restored.appliedVersion);
  }

  get appliedVersion(): number {
    return this.coverage.watermark;
  }

  get leaderEpoch(): number {
    return this.epoch;
  }

  /**
   * Applies one request. Throws StaleLeaderError, changing nothing, when it comes from an
   * older leader epoch. Returns what changed on the store, for persistence.
   */
  receive(request: ReplicateRequest): { response: ReplicateResponse; adoptedNewEpoch: boolean; applied: number } {
    if (request.leaderEpoch < this.epoch) throw new StaleLeaderError(request.leaderEpoch, this.epoch);
    const adoptedNewEpoch = request.leaderEpoch > this.epoch;
    if (adoptedNewEpoch) {
      // A different leader history: what we hold may contain versions it never assigned.
      this.store.clear();
      this.coverage.reset();
      this.epoch = request.leaderEpoch;
    }
    let applied = 0;
    for (const entry of request.entries) {
      if (entry.version <= this.coverage.watermark) continue;
      if (this.store.apply(toStoreEntry(entry))) applied++;
    }
    if (request.catchUp) {
      this.coverage.add(request.catchUp.from + 1, request.catchUp.through);
    } else {
      for (const entry of request.entries) this.coverage.add(entry.version, entry.version);
    }
    this.store.dropTombstonesThrough(this.coverage.watermark);
    return { response: this.position(), adoptedNewEpoch, applied };
  }

  position(): ReplicateResponse {
    return Object.assign(new ReplicateResponse(), {
      followerId: this.followerId,
      leaderEpoch: this.epoch,
      appliedVersion: this.coverage.watermark,
    });
  }
}
