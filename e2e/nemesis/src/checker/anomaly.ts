export type CheckName = 'acknowledged-writes' | 'linearizability' | 'monotonic-reads' | 'convergence' | 'versions';

/** One violation, with the shortest piece of history (formatted lines) that shows it. */
export interface Anomaly {
  readonly check: CheckName;
  /** A stable short name: `lost-write`, `stale-read`, `resurrected-delete`, ... */
  readonly kind: string;
  readonly key?: string;
  readonly node?: string;
  readonly message: string;
  readonly history: string[];
}
