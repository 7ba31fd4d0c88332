import http from 'node:http';
import { readKey, sameRead, type KeyRead } from './node-reader';

export interface ConsistencyCheckOptions {
  readonly leaderUrl: string;
  readonly followerUrls: readonly string[];
  readonly keys: readonly string[];
  /** When the storm's last answer arrived: the time to converge counts from here. */
  readonly stormEndedAtEpochMs: number;
  /** Gives up after this long without agreement. */
  readonly timeoutMs: number;
  readonly readTimeoutMs: number;
  /** Pause between two rounds of reads. */
  readonly pollIntervalMs?: number;
  readonly onRound?: (agreeing: number, total: number) => void;
}

export interface ConsistencyReport {
  /** Follower × key pairs compared with the leader in each round. */
  readonly pairs: number;
  /** Pairs that differed from the leader at the first read after the storm. */
  readonly firstReadMismatches: number;
  /** Pairs that still differed at the last read (0 when converged). */
  readonly lastReadMismatches: number;
  readonly converged: boolean;
  /** From the storm's last answer until a round of reads found every follower agreeing with the leader. */
  readonly convergeMs: number | null;
  readonly rounds: number;
  /** A few of the pairs that differed last, for the error message when it never converged. */
  readonly examples: readonly string[];
}

function describeRead(read: KeyRead): string {
  if (read.kind === 'value') return `v${read.version}`;
  return read.kind === 'absent' ? 'absent' : `error (${read.reason})`;
}

/**
 * Reads every key from the leader and every follower, counts the follower reads that differ
 * from the leader's, and repeats until none do or the time limit passes. The round count is
 * bounded by the time limit and the pause between rounds.
 */
export async function checkConsistency(options: ConsistencyCheckOptions): Promise<ConsistencyReport> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const pollIntervalMs = options.pollIntervalMs ?? 25;
  const pairs = options.keys.length * options.followerUrls.length;
  const deadline = Date.now() + options.timeoutMs;
  const maxRounds = Math.ceil(options.timeoutMs / pollIntervalMs) + 1;
  const read = (url: string) => Promise.all(options.keys.map((key) => readKey(agent, url, key, options.readTimeoutMs)));
  let firstReadMismatches = -1;
  let examples: string[] = [];
  let mismatches = pairs;
  let rounds = 0;
  try {
    while (rounds < maxRounds) {
      rounds++;
      const [leader, ...followers] = await Promise.all([options.leaderUrl, ...options.followerUrls].map(read));
      examples = [];
      mismatches = 0;
      followers.forEach((reads, f) =>
        reads.forEach((followerRead, k) => {
          if (sameRead(followerRead, leader[k])) return;
          mismatches++;
          if (examples.length < 5) examples.push(`${options.followerUrls[f]} ${options.keys[k]}: ${describeRead(followerRead)}, leader ${describeRead(leader[k])}`);
        }),
      );
      if (firstReadMismatches < 0) firstReadMismatches = mismatches;
      options.onRound?.(pairs - mismatches, pairs);
      if (mismatches === 0) {
        return { pairs, firstReadMismatches, lastReadMismatches: 0, converged: true, convergeMs: Date.now() - options.stormEndedAtEpochMs, rounds, examples: [] };
      }
      if (Date.now() + pollIntervalMs > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
    }
    return { pairs, firstReadMismatches, lastReadMismatches: mismatches, converged: false, convergeMs: null, rounds, examples };
  } finally {
    agent.destroy();
  }
}
