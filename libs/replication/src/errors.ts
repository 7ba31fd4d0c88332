/** A replication request from a leader whose history is older than the one this follower follows. */
export class StaleLeaderError extends Error {
  readonly code = 'STALE_LEADER';
  constructor(
    readonly requestEpoch: number,
    readonly currentEpoch: number,
  ) {
    super(`replication request from leader epoch ${requestEpoch}, but this follower follows epoch ${currentEpoch}`);
    this.name = 'StaleLeaderError';
  }
}
