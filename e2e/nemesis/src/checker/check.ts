import type { FinalState, History } from '../history';
import { checkAcknowledgedWrites } from './acknowledged-writes';
import type { Anomaly } from './anomaly';
import { checkConvergence } from './convergence';
import { HistoryIndex } from './history-index';
import { checkLinearizableKeys, type LinearizabilitySummary } from './linearizable-keys';
import { checkMonotonicReads } from './monotonic-reads';
import { checkVersions } from './versions';

export interface CheckResult {
  readonly anomalies: Anomaly[];
  readonly linearizability: LinearizabilitySummary;
}

/** Every check over one recorded history and the final listings. Pure: no I/O, no clock. */
export function checkHistory(history: History, final: FinalState, options: { linearizabilityBudget?: number } = {}): CheckResult {
  const index = new HistoryIndex(history);
  const linearizability = checkLinearizableKeys(index, options.linearizabilityBudget);
  return {
    anomalies: [
      ...checkAcknowledgedWrites(index, final),
      ...linearizability.anomalies,
      ...checkMonotonicReads(index),
      ...checkConvergence(index, final),
      ...checkVersions(index),
    ],
    linearizability: linearizability.summary,
  };
}
