import { VersionedStore, type Entry } from '@kv/store';
import { ReplicateRequest, ReplicateResponse, toStoreEntry } from '@kv/protocol';
import { VersionCoverage } from './version-coverage';
import { StaleLeaderError } from './errors';

/** What a follower persists with every change; a restart resumes from it. */
export interface FollowerMeta {
  readonly leaderEpoch: number;
  readonly appliedVersion: number;
}

/** One request's effect: the answer, and the change to make durable before sending it. */
export interface ReceiveResult {
  readonly response: ReplicateResponse;
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
    restored: FollowerMeta = { leaderEpoch: 0, appliedVersion: 0 },
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
   * Applies one request to the store. Throws StaleLeaderError, changing nothing, when it
   * comes from an older leader epoch. The answer may be sent once `change` is durable.
   */
  receive(request: ReplicateRequest): ReceiveResult {
    if (request.leaderEpoch < this.epoch) throw new StaleLeaderError(request.leaderEpoch, this.epoch);
    const adoptedNewEpoch = request.leaderEpoch > this.epoch;
    if (adoptedNewEpoch) {
      // A different leader history: what we hold may contain versions it never assigned.
      this.store.clear();
      this.coverage.reset();
      this.epoch = request.leaderEpoch;
    }
    const applied: Entry[] = [];
    for (const replicated of request.entries) {
      if (replicated.version <= this.coverage.watermark) continue;
      const entry = toStoreEntry(replicated);
      if (this.store.apply(entry)) applied.push(entry);
    }
    if (request.catchUp) {
      this.coverage.add(request.catchUp.from + 1, request.catchUp.through);
    } else {
      for (const entry of request.entries) this.coverage.add(entry.version, entry.version);
    }
    const watermark = this.coverage.watermark;
    this.store.dropTombstonesThrough(watermark);
    return {
      response: this.position(),
      adoptedNewEpoch,
      change: {
        ...(adoptedNewEpoch ? { clear: true } : {}),
        apply: applied,
        dropTombstonesThrough: watermark,
        meta: { leaderEpoch: this.epoch, appliedVersion: watermark },
      },
    };
  }

  position(): ReplicateResponse {
    return Object.assign(new ReplicateResponse(), {
      followerId: this.followerId,
      leaderEpoch: this.epoch,
      appliedVersion: this.coverage.watermark,
    });
  }
}
