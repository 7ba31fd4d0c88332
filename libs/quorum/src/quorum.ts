export type QuorumOutcome = 'pending' | 'reached' | 'impossible';

export interface QuorumTally {
  /** Acks the quorum needs. */
  readonly needed: number;
  /** Voters that may still answer, have acked, or have failed. */
  readonly voters: number;
  readonly acks: number;
  readonly failures: number;
}

/** Whether a quorum is reached, still possible, or lost for good. */
export function quorumOutcome({ needed, voters, acks, failures }: QuorumTally): QuorumOutcome {
  if (acks >= needed) return 'reached';
  const undecided = voters - acks - failures;
  return acks + undecided < needed ? 'impossible' : 'pending';
}
