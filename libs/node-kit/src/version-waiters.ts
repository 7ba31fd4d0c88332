import BTree from 'sorted-btree';
import { realTimer, type SetTimer } from '@kv/quorum';

interface Waiter {
  readonly resolve: (reached: boolean) => void;
  timer: { cancel(): void } | null;
}

/**
 * Requests waiting for the node to hold every write up to a version (API.md,
 * "Read-your-writes"), woken by `advance` instead of polling: a waiter costs one timer and
 * one slot in a B-tree keyed by version, so `advance` wakes exactly the waiters it reaches in
 * O(woken · log n), whatever the number still waiting.
 *
 * The caller checks the node's own version before waiting (this class keeps none: a
 * follower's applied version drops to 0 during a full resync, and its waiters then simply
 * keep waiting until `advance` reaches them or their timeout passes).
 */
export class VersionWaiters {
  private readonly byVersion = new BTree<number, Set<Waiter>>();
  private count = 0;

  constructor(private readonly setTimer: SetTimer = realTimer) {}

  /** Requests waiting now. */
  get size(): number {
    return this.count;
  }

  /**
   * Resolves true once `advance` reaches `version`, false after `timeoutMs` (ms; 0 answers
   * false at once).
   */
  waitFor(version: number, timeoutMs: number): Promise<boolean> {
    if (timeoutMs <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = { resolve, timer: null };
      let set = this.byVersion.get(version);
      if (set === undefined) {
        set = new Set();
        this.byVersion.set(version, set);
      }
      set.add(waiter);
      this.count++;
      waiter.timer = this.setTimer(() => {
        waiter.timer = null;
        const waiting = this.byVersion.get(version);
        if (waiting?.delete(waiter)) {
          this.count--;
          if (waiting.size === 0) this.byVersion.delete(version);
        }
        resolve(false);
      }, timeoutMs);
    });
  }

  /** The node now holds every write up to `appliedVersion`: wakes every waiter at or below it. */
  advance(appliedVersion: number): void {
    for (;;) {
      const lowest = this.byVersion.minKey();
      if (lowest === undefined || lowest > appliedVersion) return;
      const set = this.byVersion.get(lowest) as Set<Waiter>;
      this.byVersion.delete(lowest);
      for (const waiter of set) {
        this.count--;
        waiter.timer?.cancel();
        waiter.resolve(true);
      }
    }
  }
}
