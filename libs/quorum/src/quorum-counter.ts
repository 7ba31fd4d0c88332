import { QuorumOutcome, quorumOutcome } from './quorum';
import { SetTimer, realTimer } from './timers';

export interface QuorumResult {
  /** `timeout` when the deadline came first. */
  readonly outcome: Exclude<QuorumOutcome, 'pending'> | 'timeout';
  readonly acks: number;
  readonly failures: number;
}

export interface QuorumCounterOptions {
  readonly needed: number;
  readonly voters: number;
  readonly timeoutMs: number;
  readonly setTimer?: SetTimer;
}

/**
 * Counts acks and failures from named voters and settles `result` once: as soon as the
 * quorum is reached, as soon as it can no longer be reached, or at the deadline.
 * A voter counts once; its ack replaces an earlier failure (a retry that went through).
 */
export class QuorumCounter {
  readonly result: Promise<QuorumResult>;
  private readonly acked = new Set<string>();
  private readonly failed = new Set<string>();
  private resolve!: (result: QuorumResult) => void;
  private settled = false;
  private readonly deadline: { cancel(): void } | undefined;

  constructor(private readonly options: QuorumCounterOptions) {
    this.result = new Promise((resolve) => (this.resolve = resolve));
    if (!this.check() && Number.isFinite(options.timeoutMs)) {
      this.deadline = (options.setTimer ?? realTimer)(() => this.settle('timeout'), options.timeoutMs);
    }
  }

  ack(voter: string): void {
    if (this.settled || this.acked.has(voter)) return;
    this.failed.delete(voter);
    this.acked.add(voter);
    this.check();
  }

  fail(voter: string): void {
    if (this.settled || this.acked.has(voter) || this.failed.has(voter)) return;
    this.failed.add(voter);
    this.check();
  }

  get isSettled(): boolean {
    return this.settled;
  }

  private check(): boolean {
    const outcome = quorumOutcome({
      needed: this.options.needed,
      voters: this.options.voters,
      acks: this.acked.size,
      failures: this.failed.size,
    });
    if (outcome === 'pending') return false;
    this.settle(outcome);
    return true;
  }

  private settle(outcome: QuorumResult['outcome']): void {
    if (this.settled) return;
    this.settled = true;
    this.deadline?.cancel();
    this.resolve({ outcome, acks: this.acked.size, failures: this.failed.size });
  }
}

/**
 * Runs `attempts` concurrently and settles like p-some: once `needed` of them succeed,
 * once that can no longer happen, or after `timeoutMs`. Attempts are never cancelled;
 * the caller decides what a late success means.
 */
export function awaitQuorum(
  attempts: ReadonlyArray<Promise<unknown>>,
  needed: number,
  timeoutMs: number,
  setTimer?: SetTimer,
): Promise<QuorumResult> {
  const counter = new QuorumCounter({ needed, voters: attempts.length, timeoutMs, setTimer });
  attempts.forEach((attempt, i) => {
    attempt.then(
      () => counter.ack(String(i)),
      () => counter.fail(String(i)),
    );
  });
  return counter.result;
}
