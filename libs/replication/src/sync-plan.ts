import type { ReplicateResponse } from '@kv/protocol';
import type { SyncPlan } from './replicator';
import { VersionCoverage } from './version-coverage';

/** A history: the epoch a leader took and that leader process's id. */
export interface History {
  readonly epoch: number;
  readonly leaderId: string;
}

/**
 * A history this leader continues: at start it took the state of `history` in, and holds
 * every write of it that `coverage` covers. A follower of that history that holds nothing
 * outside `coverage` holds a prefix of this leader's history.
 */
export interface Lineage {
  readonly history: History;
  readonly coverage: VersionCoverage;
}

/** What the leader knows when it decides how a follower joins. */
export interface LeaderView {
  readonly history: History;
  /** The highest version it has assigned. */
  readonly version: number;
  /** Tombstones up to here may be forgotten: a delta from below it could miss a delete. */
  readonly tombstoneHorizon: number;
  readonly lineage: Lineage | null;
}

export const sameHistory = (a: History, b: { leaderEpoch: number; leaderId?: string }): boolean =>
  a.epoch === b.leaderEpoch && a.leaderId === (b.leaderId ?? '');

/** Every version the follower says it holds: its watermark and the ranges above it. */
export function heldCoverage(position: Pick<ReplicateResponse, 'appliedVersion' | 'ranges'>): VersionCoverage {
  const held = new VersionCoverage();
  held.add(1, position.appliedVersion);
  for (const [from, through] of position.ranges ?? []) held.add(from, through);
  return held;
}

/** The highest version the follower holds (0 when none). */
export function highestHeld(position: Pick<ReplicateResponse, 'appliedVersion' | 'ranges'>): number {
  const ranges = position.ranges ?? [];
  return ranges.length > 0 ? Math.max(position.appliedVersion, ranges[ranges.length - 1][1]) : position.appliedVersion;
}

/**
 * How a follower joins this leader, from its answer (etcd-raft's Progress: a follower
 * whose entries were compacted away gets a snapshot, StateSnapshot):
 * - a delta catch-up from its applied version, when its history is provably a prefix of
 *   this leader's (the same history, or the lineage this leader recovered and nothing held
 *   outside what it took in) and it is not behind the tombstone horizon;
 * - a full resync (the whole state, keys absent from it removed) otherwise: it is behind
 *   the horizon (an old backup, a lost fsync, a follower removed and added back; API.md
 *   guarantee 5) or follows a history this leader cannot prove it extends (guarantee 7).
 * An empty follower needs no proof.
 */
export function planFollowerSync(position: ReplicateResponse, view: LeaderView): SyncPlan {
  const applied = position.appliedVersion;
  const empty = applied === 0 && (position.ranges ?? []).length === 0;
  const behindHorizon = applied < view.tombstoneHorizon;
  if (sameHistory(view.history, position)) {
    if (highestHeld(position) > view.version) return { kind: 'resync', reason: `it holds versions up to ${highestHeld(position)}, above this leader's ${view.version}` };
    if (behindHorizon) return { kind: 'resync', reason: `its applied version ${applied} is below the tombstone horizon ${view.tombstoneHorizon}` };
    return { kind: 'delta', from: applied };
  }
  if (empty) {
    return behindHorizon ? { kind: 'resync', reason: 'it is empty and deletes below the tombstone horizon are forgotten' } : { kind: 'delta', from: 0 };
  }
  const lineage = view.lineage;
  if (lineage && sameHistory(lineage.history, position) && lineage.coverage.contains(heldCoverage(position))) {
    if (behindHorizon) return { kind: 'resync', reason: `its applied version ${applied} is below the tombstone horizon ${view.tombstoneHorizon}` };
    return { kind: 'delta', from: applied };
  }
  return {
    kind: 'resync',
    reason: `it follows history ${position.leaderEpoch}/${position.leaderId || '-'} that this leader cannot prove it extends`,
  };
}
