import { setMaxListeners } from 'node:events';
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
 * bounded by the time limit and the pause between rounds; a round, by the reads' deadline
 * (`readTimeoutMs`, ms) times the keys over 8 connections per node, and by one deadline for a
 * node that does not answer.
 */
export async function checkConsistency(options: ConsistencyCheckOptions): Promise<ConsistencyReport> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const pollIntervalMs = options.pollIntervalMs ?? 25;
  const pairs = options.keys.length * options.followerUrls.length;
  const deadline = Date.now() + options.timeoutMs;
  const maxRounds = Math.ceil(options.timeoutMs / pollIntervalMs) + 1;
  /**
   * One node's reads of a round. Each read's deadline runs once it has a connection, so a
   * node that accepts and never answers would hold the round for keys ÷ 8 deadlines: once one
   * read timed out, the node's other reads this round are given up (errors, read next round).
   */
  const read = (url: string): Promise<KeyRead[]> => {
    const giveUp = new AbortController();
    // Every read of the round listens on it (Node warns past 10 listeners by default).
    setMaxListeners(options.keys.length + 1, giveUp.signal);
    return Promise.all(
      options.keys.map(async (key) => {
        const result = await readKey(agent, url, key, options.readTimeoutMs, giveUp.signal);
        if (result.kind === 'error' && result.timedOut) giveUp.abort(new Error(`given up this round: another read had no answer within ${options.readTimeoutMs} ms`));
        return result;
      }),
    );
  };
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
