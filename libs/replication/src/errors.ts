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

/**
 * A conditional write whose condition does not hold (API.md, "Conditional writes"): nothing
 * was applied and no version used. `currentVersion` is the key's version, 0 when absent.
 */
export class VersionMismatchError extends Error {
  readonly code = 'VERSION_MISMATCH';
  constructor(
    readonly key: string,
    /** The version the write required, or `exists` (any version). */
    readonly expectedVersion: number | 'exists',
    readonly currentVersion: number,
  ) {
    super(
      currentVersion === 0
        ? `key ${JSON.stringify(key)} is absent${expectedVersion === 'exists' ? '; the write required it to exist' : `, not at version ${expectedVersion}`}`
        : expectedVersion === 0
          ? `key ${JSON.stringify(key)} exists (version ${currentVersion}); the write required it absent`
          : `key ${JSON.stringify(key)} is at version ${currentVersion}, not ${expectedVersion}`,
    );
    this.name = 'VersionMismatchError';
  }
}
