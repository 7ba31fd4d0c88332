/**
 * A replication request from a leader whose history is older than the one this follower
 * follows, or from another leader of the same epoch (two leaders configured against the
 * same followers). The leader that gets it stands down (see ReplicationLeader's fencing).
 */
export class StaleLeaderError extends Error {
  readonly code = 'STALE_LEADER';
  constructor(
    readonly requestEpoch: number,
    readonly currentEpoch: number,
    reason = `replication request from leader epoch ${requestEpoch}, but this follower follows epoch ${currentEpoch}`,
  ) {
    super(reason);
    this.name = 'StaleLeaderError';
  }
}
