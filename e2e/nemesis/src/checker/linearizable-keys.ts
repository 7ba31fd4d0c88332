import { formatOp } from '../history';
import type { Anomaly } from './anomaly';
import type { HistoryIndex } from './history-index';
import { checkRegister, pruneUnobservedInfo, shrinkCounterexample } from './linearizability';

export interface LinearizabilitySummary {
  readonly keys: number;
  readonly unknown: string[];
}

/** Guarantee: the leader's reads and writes of each key are linearizable as a register (keys checked apart). */
export function checkLinearizableKeys(index: HistoryIndex, budget?: number): { anomalies: Anomaly[]; summary: LinearizabilitySummary } {
  const anomalies: Anomaly[] = [];
  const unknown: string[] = [];
  let keys = 0;
  for (const [key, ops] of index.byKey) {
    const leaderOps = pruneUnobservedInfo(ops.filter((o) => o.node === 'leader' && o.outcome !== 'fail'));
    if (leaderOps.length === 0) continue;
    keys++;
    const result = checkRegister(leaderOps, { budget });
    if (result.linearizable === 'unknown') unknown.push(`${key}: ${result.reason}`);
    if (result.linearizable !== false) continue;
    const piece = shrinkCounterexample(leaderOps);
    anomalies.push({
      check: 'linearizability',
      kind: 'not-linearizable',
      key,
      node: 'leader',
      message: `the leader's ${leaderOps.length} operations on ${key} are not linearizable; no order explains these ${piece.length}`,
      history: piece.map(formatOp),
    });
  }
  return { anomalies, summary: { keys, unknown } };
}
